"""Unit: analytics.profile on small hand-checkable cases."""

import datetime as dt

import pandas as pd
import pytest

from analytics import profile as pa


def _holdings(rows: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "product"])


def test_whitespace_ranks_by_peer_share_with_reason() -> None:
    # 10 peers: all hold DEP; 6 hold CASH, of whom 5 hold FX; 1 other holds FX; 2 hold LOAN.
    rows = [(i, "DEP") for i in range(10)]
    rows += [(i, "CASH") for i in range(6)]
    rows += [(i, "FX") for i in range(5)] + [(9, "FX")]
    rows += [(7, "LOAN"), (8, "LOAN")]
    shares = pa.compute_peer_shares(_holdings(rows), min_peers=5)
    assert set(shares.loc[shares["given"] == "", "peers"]) == {10}
    out = pa.compute_whitespace(shares, held={"DEP", "CASH"})
    assert list(out["product"]) == ["FX", "LOAN"]
    fx = out.iloc[0]
    assert fx["peer_share"] == pytest.approx(0.6)
    assert fx["because"] == "CASH"
    assert fx["because_share"] == pytest.approx(5 / 6)


def test_whitespace_needs_enough_peers() -> None:
    shares = pa.compute_peer_shares(_holdings([(1, "DEP"), (2, "FX")]), min_peers=10)
    assert shares.empty
    assert pa.compute_whitespace(shares, held={"DEP"}).empty


def test_peer_shares_leave_out_small_groups_of_holders() -> None:
    # 12 peers hold DEP; only 3 of them hold FX: shares given FX are not published.
    rows = [(i, "DEP") for i in range(12)] + [(i, "FX") for i in range(3)]
    shares = pa.compute_peer_shares(_holdings(rows), min_peers=10)
    assert set(shares["given"]) == {"", "DEP"}
    given_dep = shares[shares["given"] == "DEP"].set_index("product")["share"]
    assert given_dep["FX"] == pytest.approx(3 / 12)


def test_whitespace_ties_are_broken_by_name() -> None:
    rows = [(i, "DEP") for i in range(10)] + [(i, "FX") for i in range(5)]
    rows += [(i, "CASH") for i in range(5, 10)] + [(i, "LOAN") for i in range(5, 10)]
    shares = pa.compute_peer_shares(_holdings(rows), min_peers=5)
    out = pa.compute_whitespace(shares, held={"DEP"})
    assert list(out["product"]) == ["CASH", "FX", "LOAN"]


def test_coverage_gaps() -> None:
    contacts = pd.DataFrame(
        {"buying_role": ["user"], "last_contacted_on": [pd.Timestamp("2026-01-01")]}
    )
    assert [c for c, _ in pa.compute_coverage_gaps(contacts, dt.date(2026, 6, 30))] == [
        "no_decision_maker",
        "single_contact",
    ]
    contacts = pd.DataFrame(
        {
            "buying_role": ["decision_maker", "user"],
            "last_contacted_on": [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-06-01")],
        }
    )
    gaps = pa.compute_coverage_gaps(contacts, dt.date(2026, 6, 30), sponsor_days=90)
    assert gaps == [("sponsor_not_contacted", {"days": 180, "limit": 90})]
    assert pa.compute_coverage_gaps(contacts.iloc[0:0], dt.date(2026, 6, 30)) == [
        ("no_contacts", {})
    ]


def test_clv_reference_value() -> None:
    # m = 100, r = 0.9, d = 0.1, 3 years: 100 * (1 + 0.9/1.1 + 0.81/1.21).
    est = pa.compute_clv(100.0, 100, 10, discount_rate=0.1, horizon_years=3)
    assert est.value == pytest.approx(100 * (1 + 0.9 / 1.1 + 0.81 / 1.21))
    assert est.low < est.value < est.high
    assert est.retention == pytest.approx(0.9)


def test_clv_insufficient_with_small_cohort() -> None:
    est = pa.compute_clv(100.0, 12, 1)
    assert not est.sufficient
    assert est.value is None


@pytest.mark.parametrize(
    ("delta", "noise", "expected"),
    [(5.0, 10.0, None), (-12.0, 10.0, "down"), (11.0, 10.0, "up"), (30.0, None, None)],
)
def test_arrow_only_beyond_noise(delta: float, noise: float | None, expected: str | None) -> None:
    assert pa.classify_change(delta, noise) == expected


def test_changes_since_last_meeting() -> None:
    months = pd.date_range("2026-01-01", periods=6, freq="MS")
    revenue = pd.Series([100.0, 100, 100, 100, 120, 140], index=months)
    health = pd.DataFrame(
        {"as_of": pd.to_datetime(["2026-03-31", "2026-06-30"]), "health_score": [50.0, 70.0]}
    )
    surveys = pd.DataFrame(
        {
            "survey": ["nps", "nps"],
            "score": [10, 3],
            "responded_on": pd.to_datetime(["2026-05-01", "2026-06-01"]),
        }
    )
    holdings = pd.DataFrame(
        {"product": ["FX"], "opened_on": [dt.date(2026, 5, 2)], "closed_on": [None]}
    )
    contacts = pd.DataFrame({"last_contacted_on": pd.to_datetime(["2026-04-20", "2026-06-02"])})
    interventions = pd.DataFrame({"status": ["planned"], "completed_on": [pd.NaT]})
    changes = pa.compute_changes_since(
        dt.date(2026, 4, 15),
        dt.date(2026, 6, 30),
        revenue,
        health,
        surveys,
        holdings,
        contacts,
        interventions,
    )
    by = {c.code: c.values for c in changes}
    assert by["since"]["days"] == 76
    assert by["revenue"]["before"] == 100.0
    assert by["revenue"]["after"] == pytest.approx(130.0)
    assert by["health"] == {"before": 50.0, "after": 70.0}
    assert by["nps"] == {"n": 2, "promoters": 1, "detractors": 1}
    assert by["products"] == {"opened": ["FX"], "closed": []}
    assert by["stakeholders"] == {"stale": 0, "total": 2}
    assert by["open_items"] == {"open": 1, "completed": 0}


def test_no_meeting_is_said_plainly() -> None:
    empty = pd.DataFrame()
    changes = pa.compute_changes_since(
        None, dt.date(2026, 6, 30), pd.Series(dtype=float), empty, empty, empty, empty, empty
    )
    assert [c.code for c in changes] == ["no_meeting"]
