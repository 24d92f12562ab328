"""Unit: stages and moves per segment equal what the events say, and the lifecycle page
read from them equals the page computed from every event, on both databases."""

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text

from analytics import lifecycle as lc
from analytics.periods import add_months, month_end
from data_access import importing, lifecycle, stage_rollup
from data_access.schema import Account, LifecycleEvent, TierHistory
from data_access.scope import Filters, Scope, filter_clauses, scope_clause
from tests.conftest import move_four_accounts_segment, move_one_account_tier

DIMS = list(stage_rollup.DIMS)


def _random_events(rng: np.random.Generator, accounts: int) -> pd.DataFrame:
    """Stage histories with same-day pairs, churn and a few accounts starting late."""
    rows = []
    for account in range(1, accounts + 1):
        day = pd.Timestamp("2021-06-01") + pd.Timedelta(days=int(rng.integers(0, 1200)))
        for stage in ("onboarding", "growth", "mature", "at_risk", "won_back"):
            rows.append((account, stage, day))
            if rng.random() < 0.25:
                break
            day += pd.Timedelta(days=int(rng.integers(0, 250)))
        if rng.random() < 0.3:
            rows.append((account, lc.GONE, day))  # same day as the last stage
    events = pd.DataFrame(rows, columns=["account_id", "stage", "day"])
    return events.assign(id=np.arange(1, len(events) + 1))


def _segments_of(rng: np.random.Generator, accounts: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": np.arange(1, accounts + 1),
            "team_id": rng.integers(1, 3, accounts),
            "tier": rng.choice(["basic", "value", "strategic"], accounts),
            "region": rng.choice(["east", "west"], accounts),
            "industry": "energy",
        }
    )


def _plain_rollup(
    events: pd.DataFrame, accounts: pd.DataFrame, first: dt.date, last: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts and 12-month flows per segment the obvious way: every account's latest
    event at every month-end (``stage_on``), then counted."""
    months = pd.date_range(first, last, freq="MS")
    days = [pd.Timestamp(month_end(m.date())) for m in months]
    states = lc.stage_on(events.rename(columns={"day": "entered_on"}), days)
    states = states.merge(accounts, on="account_id")
    states["month"] = states["day"].dt.to_period("M").dt.to_timestamp().dt.date
    kept = states[~states["stage"].isin([lc.NOT_YET, lc.GONE])]
    counts = kept.groupby(["month", *DIMS, "stage"]).size().rename("accounts").reset_index()
    before = states[["account_id", "month", "stage"]].assign(
        month=lambda d: [add_months(m, stage_rollup.FLOW_MONTHS) for m in d["month"]]
    )
    pairs = states.merge(before, on=["account_id", "month"], suffixes=("", "_before"))
    pairs = pairs.rename(columns={"stage_before": "from_stage", "stage": "to_stage"})
    pairs = pairs[
        ~((pairs["from_stage"] == lc.GONE) & (pairs["to_stage"] == lc.GONE))
        & (pairs["to_stage"] != lc.NOT_YET)
    ]
    flows = (
        pairs.groupby(["month", *DIMS, "from_stage", "to_stage"])
        .size()
        .rename("accounts")
        .reset_index()
    )
    return counts, flows


def _same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    keys = [c for c in want.columns if c != "accounts"]
    got = got.assign(month=pd.to_datetime(got["month"]).dt.date)
    got = got[want.columns].sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_rollup_rows_equal_every_accounts_latest_event_at_each_month_end() -> None:
    rng = np.random.default_rng(7)
    events = _random_events(rng, 300).sort_values(["account_id", "day", "id"])
    accounts = _segments_of(rng, 320)  # 20 accounts without any event
    first, last = dt.date(2021, 1, 1), dt.date(2025, 3, 1)
    counts, flows = stage_rollup.rollup_rows(events, accounts, first, last, with_counts=True)
    want_counts, want_flows = _plain_rollup(events, accounts, first, last)
    assert len(want_counts) > 500
    assert len(want_flows) > 500
    assert flows["month"].min() == add_months(first, stage_rollup.FLOW_MONTHS)
    _same_rows(counts, want_counts)
    _same_rows(flows, want_flows[want_flows["month"] >= flows["month"].min()])


def test_of_two_events_on_one_day_the_later_recorded_holds() -> None:
    day = pd.Timestamp("2024-03-05")
    events = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2, 2],
            "stage": ["mature", "at_risk", lc.GONE, "mature", "at_risk"],
            "day": [pd.Timestamp("2022-01-01"), day, day, pd.Timestamp("2022-01-01"), day],
            "id": [1, 2, 3, 4, 5],
        }
    )
    accounts = pd.DataFrame(
        {"account_id": [1, 2], "team_id": 1, "tier": "value", "region": "east", "industry": "x"}
    )
    counts, flows = stage_rollup.rollup_rows(
        events, accounts, dt.date(2023, 6, 1), dt.date(2024, 6, 1), with_counts=True
    )
    june = counts[counts["month"] == dt.date(2024, 6, 1)]
    assert dict(zip(june["stage"], june["accounts"], strict=True)) == {"at_risk": 1}
    june = flows[flows["month"] == dt.date(2024, 6, 1)]
    assert set(zip(june["from_stage"], june["to_stage"], june["accounts"], strict=True)) == {
        ("mature", lc.GONE, 1),
        ("mature", "at_risk", 1),
    }


def _viewers(engine: Engine) -> list[tuple[Scope, Filters]]:
    with engine.connect() as conn:
        team, tier, region = conn.execute(
            select(Account.team_id, Account.tier, Account.region).order_by(Account.id).limit(1)
        ).one()
    end = dt.date(2026, 6, 30)  # the fixture portfolio's last month
    return [
        (Scope(1, "executive"), Filters(end)),
        (Scope(1, "executive"), Filters(dt.date(2024, 9, 30))),
        (Scope(2, "account_manager", team), Filters(end)),
        (Scope(1, "executive"), Filters(end, tiers=(tier,), regions=(region,))),
    ]


def _every_event(conn, scope: Scope, filters: Filters, kind: str) -> pd.DataFrame:
    """Every stage event (or tier change, as a stage) of the accounts in view, by day and
    then as recorded: the plain reading the page's figures are checked against."""
    t, state, day = (
        (LifecycleEvent, LifecycleEvent.stage, LifecycleEvent.entered_on)
        if kind == "stage"
        else (TierHistory, TierHistory.tier, TierHistory.changed_on)
    )
    in_view = select(Account.id).where(scope_clause(scope), *filter_clauses(filters))
    stmt = (
        select(t.account_id, state.label("stage"), day.label("entered_on"))
        .where(t.account_id.in_(in_view))
        .order_by(day, t.id)
    )
    events = pd.read_sql(stmt, conn)
    events["entered_on"] = pd.to_datetime(events["entered_on"])
    return events


def test_lifecycle_page_equals_the_page_computed_from_every_event(fixture_engine: Engine) -> None:
    for scope, filters in _viewers(fixture_engine):
        end = pd.Timestamp(month_end(filters.period_month))
        start = pd.Timestamp(add_months(filters.period_month, -11)) - pd.Timedelta(days=1)
        days = [
            pd.Timestamp(month_end(add_months(filters.period_month, -k))) for k in range(23, -1, -1)
        ]
        with fixture_engine.connect() as conn:
            page = lifecycle.load_lifecycle_data(conn, scope, filters)
            events = _every_event(conn, scope, filters, "stage")
            tiers = _every_event(conn, scope, filters, "tier")
        assert len(events) > 20
        pd.testing.assert_frame_equal(
            page.distribution, lc.compute_stage_distribution(events, days), check_freq=False
        )
        pd.testing.assert_frame_equal(page.stage_flows, lc.compute_transitions(events, start, end))
        pd.testing.assert_frame_equal(page.tier_flows, lc.compute_transitions(tiers, start, end))
        current, summary = lc.compute_time_in_stage(events, end)
        pd.testing.assert_frame_equal(page.time_in_stage, summary)
        stuck = lc.stuck_accounts(current, summary).head(50)
        assert len(page.stuck) == len(stuck) > 0
        # Ordered longest first; accounts of equal days in any order.
        assert list(page.stuck["days"]) == list(stuck["days"])
        longest = stuck["days"] > stuck["days"].min()
        assert set(page.stuck["account_id"][longest.to_numpy()]) == set(
            stuck["account_id"][longest]
        )
        assert (page.stuck["days"] > page.stuck["p90"]).all()
        assert page.stuck["code"].notna().all()
        _assert_survival_inputs_from_every_row(fixture_engine, scope, filters, tiers)


def _assert_survival_inputs_from_every_row(
    engine: Engine, scope: Scope, filters: Filters, tiers: pd.DataFrame
) -> None:
    """The tier each account held when observation starts and its product depth then,
    as every tier change and account month give them."""
    window_start = add_months(filters.period_month, -35)
    with engine.connect() as conn:
        got = lifecycle.fetch_survival_accounts(conn, scope, filters, window_start)
        monthly = pd.read_sql(
            text("SELECT account_id, month, products_held FROM account_monthly"), conn
        )
    assert got["account_id"].is_unique
    entry = got["onboarded_on"].clip(lower=pd.Timestamp(window_start))
    ordered = tiers.assign(order=np.arange(len(tiers)))  # by day, then as recorded
    held = got[["account_id"]].assign(day=entry).merge(ordered, on="account_id")
    held = held[held["entered_on"] <= held["day"]].sort_values("order")
    tier = held.groupby("account_id")["stage"].last()
    want_tier = got["account_id"].map(tier).fillna("basic")
    assert (got["tier"] == want_tier).all()
    assert want_tier.nunique() > 1
    monthly = monthly[pd.to_datetime(monthly["month"]) >= pd.Timestamp(window_start)]
    first = monthly.sort_values("month").groupby("account_id")["products_held"].first()
    want_depth = got["account_id"].map(first)
    pd.testing.assert_series_equal(
        got["products_held"].astype(float), want_depth.astype(float), check_names=False
    )


ADMIN = Scope(user_id=3, role="admin")


def _read(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def _assert_rollup_matches_facts(engine: Engine) -> tuple[dt.date, dt.date]:
    """Both tables as the plain recomputation from every event and account gives them."""
    with engine.connect() as conn:
        first, last = stage_rollup.months_covered(conn)
    accounts = _read(
        engine, "SELECT id AS account_id, team_id, tier, region, industry FROM accounts"
    )
    counts = _read(engine, "SELECT * FROM segment_stage_counts")
    flows = _read(engine, "SELECT * FROM segment_stage_flows")
    sources = {
        "stage": "SELECT id, account_id, stage, entered_on AS day FROM lifecycle_events",
        "tier": "SELECT id, account_id, tier AS stage, changed_on AS day FROM tier_history",
    }
    for kind, sql in sources.items():
        events = _read(engine, sql.replace(" FROM", ", ended_on FROM"))
        events["day"] = pd.to_datetime(events["day"])
        events = events.sort_values(["day", "id"])
        # Each row ends the day the account's next one begins.
        next_day = events.groupby("account_id")["day"].shift(-1)
        pd.testing.assert_series_equal(
            pd.to_datetime(events.pop("ended_on")), next_day, check_names=False
        )
        want_counts, want_flows = _plain_rollup(events, accounts, first, last)
        if kind == "stage":
            assert len(want_counts) > 100
            _same_rows(counts, want_counts)
        got = flows[flows["kind"] == kind].drop(columns="kind")
        want = want_flows[want_flows["month"] >= add_months(first, stage_rollup.FLOW_MONTHS)]
        assert len(want) > 50
        _same_rows(got, want)
    return first, last


def test_demo_load_and_every_write_keep_the_stage_rollup(own_engine: Engine) -> None:
    first, last = _assert_rollup_matches_facts(own_engine)
    codes = _read(own_engine, "SELECT code FROM accounts ORDER BY id")["code"].tolist()

    events = pd.DataFrame(
        {
            "account": [codes[0], codes[0], codes[1], codes[2]],
            "stage": ["at_risk", "churned", "won_back", "mature"],
            "entered_on": ["2025-03-10", "2025-03-10", "2024-11-30", "2026-01-31"],
        }
    )
    checked, result = importing.run_import(
        own_engine, ADMIN, "lifecycle_events", events.to_csv(index=False).encode(), "ev.csv"
    )
    assert checked.ok, checked.problems[:3]
    assert result.inserted + result.updated == 4
    _assert_rollup_matches_facts(own_engine)

    assert move_four_accounts_segment(own_engine) >= 1
    _assert_rollup_matches_facts(own_engine)

    assert move_one_account_tier(own_engine) >= 1
    _assert_rollup_matches_facts(own_engine)

    revenue = _read(
        own_engine,
        "SELECT a.code AS account, p.code AS product, r.month, r.revenue FROM revenue_monthly r "
        "JOIN accounts a ON a.id = r.account_id JOIN products p ON p.id = r.product_id "
        "ORDER BY r.month DESC, a.code, p.code",
    ).head(3)
    revenue["month"] = add_months(last, 1).strftime("%Y-%m")
    checked, result = importing.run_import(
        own_engine, ADMIN, "revenue", revenue.to_csv(index=False).encode(), "rev.csv"
    )
    assert checked.ok, checked.problems[:3]
    # A new month a period can end in: the tables now reach it.
    assert _assert_rollup_matches_facts(own_engine) == (first, add_months(last, 1))
