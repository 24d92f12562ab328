"""Unit: analytics.tiering and data_access.settings — value score, thresholds, versions."""

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import URL

from analytics.tiering import TieringSettings, TierSpec, assign_tiers, compute_value_scores
from data_access import settings
from data_access.engine import create_engine_for
from data_access.refresh import run_refresh
from data_access.schema import AuditLog, TierHistory
from data_access.scope import Scope
from data_access.writes import NotPermitted, ValidationError

ADMIN = Scope(user_id=3, role="admin")
EXEC = Scope(user_id=1, role="executive")
FOUR = TieringSettings(
    tiers=(
        TierSpec("potential", "Potential", "潜在客户", 0),
        TierSpec("ordinary", "Ordinary", "普通客户", 40),
        TierSpec("high", "High value", "高价值客户", 75),
        TierSpec("hnw", "Top", "高净值客户", 95),
    )
)


def test_value_score_ranks_by_weighted_factor_percentiles() -> None:
    frame = pd.DataFrame(
        {
            "revenue_12m": [1.0, 2.0, 3.0, 4.0],
            "revenue_prev_12m": [1.0] * 4,
            "products_held": [1, 1, 1, 1],
            "potential": [10.0] * 4,
        }
    )
    scores = compute_value_scores(frame, TieringSettings())
    assert list(scores) == [25.0, 50.0, 75.0, 100.0]


def test_thresholds_assign_the_highest_tier_reached() -> None:
    scores = pd.Series([0.0, 59.99, 60.0, 89.9, 90.0, 100.0])
    assert list(assign_tiers(scores, TieringSettings())) == [
        "basic",
        "basic",
        "value",
        "value",
        "strategic",
        "strategic",
    ]
    assert list(assign_tiers(pd.Series([10.0, 50.0, 80.0, 99.0]), FOUR)) == [
        "potential",
        "ordinary",
        "high",
        "hnw",
    ]


@pytest.mark.parametrize(
    ("tiers", "code"),
    [
        ((TierSpec("a", "A", "甲", 0),), "tier_count"),
        ((TierSpec("a", "A", "甲", 0), TierSpec("a", "B", "乙", 50)), "tier_codes"),
        ((TierSpec("a", "A", "甲", 10), TierSpec("b", "B", "乙", 50)), "tier_thresholds"),
        ((TierSpec("a", "A", "甲", 0), TierSpec("b", "B", "乙", 0)), "tier_thresholds"),
        ((TierSpec("a", "A", "", 0), TierSpec("b", "B", "乙", 50)), "tier_names"),
    ],
)
def test_invalid_settings_are_named(tiers: tuple, code: str) -> None:
    assert ("tiers", code) in TieringSettings(tiers=tiers).problems()


def test_settings_are_versioned_and_audited(engine: Engine) -> None:
    with engine.begin() as conn:
        before, _ = settings.fetch_tiering(conn)
        version = settings.record_tiering(conn, ADMIN, FOUR)
    assert version == before + 1
    with engine.connect() as conn:
        current_version, current = settings.fetch_tiering(conn)
        audits = conn.execute(select(func.count()).where(AuditLog.entity == "setting")).scalar()
    assert current_version == version
    assert [x.code for x in current.tiers] == ["potential", "ordinary", "high", "hnw"]
    assert audits >= 1


def test_only_admins_change_settings_and_bad_ones_write_nothing(engine: Engine) -> None:
    with pytest.raises(NotPermitted), engine.begin() as conn:
        settings.record_tiering(conn, EXEC, FOUR)
    with engine.connect() as conn:
        before, _ = settings.fetch_tiering(conn)
    bad = TieringSettings(tiers=(TierSpec("x", "X", "叉", 5),))
    with pytest.raises(ValidationError), engine.begin() as conn:
        settings.record_tiering(conn, ADMIN, bad)
    with engine.connect() as conn:
        assert settings.fetch_tiering(conn)[0] == before


def test_refresh_suggests_and_admin_applies_new_tiers(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.begin() as conn:
        version = settings.record_tiering(conn, ADMIN, FOUR)
    run_refresh(engine)
    with engine.connect() as conn:
        suggested = dict(
            conn.execute(
                text(
                    "SELECT suggested_tier, COUNT(*) FROM account_scores WHERE as_of = "
                    "(SELECT MAX(as_of) FROM account_scores) GROUP BY suggested_tier"
                )
            ).all()
        )
        versions = set(
            conn.execute(
                text(
                    "SELECT DISTINCT tiering_version FROM account_scores "
                    "WHERE suggested_tier IS NOT NULL"
                )
            ).scalars()
        )
        history_before = conn.execute(select(func.count()).select_from(TierHistory)).scalar()
    assert set(suggested) == {"potential", "ordinary", "high", "hnw"}
    assert versions == {version}
    with engine.begin() as conn:
        moved = settings.apply_suggested_tiers(conn, ADMIN)
    with engine.connect() as conn:
        tiers = set(
            conn.execute(
                text(
                    "SELECT DISTINCT a.tier FROM accounts a JOIN account_scores s "
                    "ON s.account_id = a.id AND s.suggested_tier IS NOT NULL "
                    "WHERE a.status = 'active'"
                )
            ).scalars()
        )
        history_after = conn.execute(select(func.count()).select_from(TierHistory)).scalar()
        reason = conn.execute(
            select(TierHistory.reason).order_by(TierHistory.id.desc()).limit(1)
        ).scalar()
    assert moved > 0
    assert history_after - history_before == moved
    assert tiers == {"potential", "ordinary", "high", "hnw"}
    assert reason.startswith(f"tier review (settings v{version})")
    engine.dispose()
