"""Unit: the refresh job writes dated health snapshots, idempotently and all-or-nothing."""

import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL

from data_access import refresh
from data_access.engine import create_engine_for
from data_access.schema import AccountScore, ModelRun
from data_access.versioning import fetch_data_version


def _snapshot_state(engine) -> tuple[int, float]:
    with engine.connect() as conn:
        return conn.execute(select(func.count(), func.sum(AccountScore.health_score))).one()


def test_refresh_is_idempotent_and_bumps_the_version(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    before = _snapshot_state(engine)
    with engine.connect() as conn:
        version = fetch_data_version(conn)
    result = refresh.run_refresh(engine)
    assert result["snapshots"] == before[0]
    assert _snapshot_state(engine) == pytest.approx(before)
    with engine.connect() as conn:
        assert fetch_data_version(conn) == version + 1
        runs = conn.execute(
            select(ModelRun.status, ModelRun.stats).where(ModelRun.kind == "health")
        ).all()
        kinds = set(conn.execute(select(ModelRun.kind)).scalars())
    assert [r.status for r in runs] == ["done", "done"]
    assert runs[-1].stats["accounts_scored"] > 300
    assert kinds == {
        "health",
        "churn_drivers",
        "churn_risk",
        "health_fitted",
        "validation",
        "intervention_effects",
        "growth",
        "clv_purchase",
    }
    engine.dispose()


def test_failed_refresh_keeps_previous_snapshots(
    sqlite_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine_for(sqlite_url)
    before = _snapshot_state(engine)

    def broken_insert(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh, "insert_frame", broken_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        refresh.run_refresh(engine)
    assert _snapshot_state(engine) == pytest.approx(before)
    engine.dispose()


def test_snapshots_cover_24_month_ends_with_components(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.connect() as conn:
        dates = conn.execute(select(AccountScore.as_of).distinct()).scalars().all()
        missing_value = conn.execute(
            select(func.count()).where(AccountScore.health_score.is_(None))
        ).scalar()
    assert len(dates) == 24
    assert max(dates).isoformat() == "2026-06-30"
    assert missing_value == 0
    engine.dispose()


def test_fitted_health_weights_rank_the_planted_driver_first(sqlite_url: URL) -> None:
    """Product depth is the planted cause of churn among the components: it weighs most."""
    engine = create_engine_for(sqlite_url)
    with engine.connect() as conn:
        stats = conn.execute(
            select(ModelRun.stats)
            .where(ModelRun.kind == "health_fitted")
            .order_by(ModelRun.id.desc())
            .limit(1)
        ).scalar_one()
    engine.dispose()
    weights = stats["weights"]
    assert max(weights, key=weights.get) == "product_depth"
    assert weights["product_depth"] > weights["engagement"]
    assert stats["odds_ratios"]["product_depth"][2] < 1  # upper CI bound: protective


@pytest.mark.postgres
def test_refresh_leaves_fresh_planner_statistics_on_postgresql(pg_fixture_url: URL) -> None:
    """The tables the job rewrites are vacuumed and analysed once it has written them."""
    engine = create_engine_for(pg_fixture_url)
    counts = text(
        "SELECT relname, analyze_count + vacuum_count FROM pg_stat_user_tables "
        "WHERE relname = ANY(:names)"
    )

    def analysed() -> dict[str, int]:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return dict(conn.execute(counts, {"names": list(refresh.REWRITTEN)}).all())

    before = analysed()
    assert set(before) == set(refresh.REWRITTEN)
    refresh._vacuum_analyze(engine)
    deadline = time.monotonic() + 10  # statistics reach other sessions within a second
    while (after := analysed()) and any(after[t] < before[t] + 2 for t in before):
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.2)
    engine.dispose()
