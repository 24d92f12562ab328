"""Unit: propensity, backtest and depth analytics on hand-checkable cases and planted truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics import growth as gr
from data_access.demo import PLANTED, DemoSpec, generate
from data_access.growth import compute_growth

DAY = pd.Timestamp("2025-06-30")


def test_held_and_opened_matrices_by_hand() -> None:
    holdings = pd.DataFrame(
        {
            "account_id": [1, 1, 2, 2, 3],
            "product": ["DEP", "FX", "DEP", "CASH", "DEP"],
            "opened_on": ["2020-01-01", "2025-09-01", "2020-01-01", "2021-01-01", "2020-01-01"],
            "closed_on": [None, None, None, "2025-03-01", None],
        }
    )
    ids = pd.Index([1, 2, 3])
    held = gr.held_at(holdings, ids, ["DEP", "CASH", "FX"], DAY)
    assert held.loc[2, "CASH"] == 0  # closed before the day
    assert held["DEP"].tolist() == [1, 1, 1]
    opened = gr.opened_between(
        holdings, ids, ["DEP", "CASH", "FX"], DAY, DAY + pd.DateOffset(months=12)
    )
    assert opened.loc[1, "FX"] == 1
    assert opened.to_numpy().sum() == 1


def test_precision_and_top_k_by_hand() -> None:
    scores = pd.DataFrame({"A": [0.9, 0.1, np.nan], "B": [0.2, 0.8, 0.5]}, index=[1, 2, 3])
    top = gr.top_k(scores, 1)
    assert list(zip(top["account_id"], top["product"], strict=True)) == [
        (1, "A"),
        (2, "B"),
        (3, "B"),
    ]
    opened = pd.DataFrame({"A": [1.0, 0.0, 0.0], "B": [0.0, 0.0, 1.0]}, index=[1, 2, 3])
    assert gr.precision_at_k(top, opened).tolist() == [1.0, 0.0, 1.0]


def test_model_learns_an_affinity_and_beats_popularity() -> None:
    # Product B is opened 30% of the time by holders of A and 2% otherwise; C is popular
    # (held by many) but rarely opened. Popularity suggests C; the model suggests B to A holders.
    rng = np.random.default_rng(1)
    n = 3000
    accounts = pd.DataFrame(
        {
            "tier": rng.choice(["basic", "value", "strategic"], n),
            "industry": rng.choice(["energy", "technology"], n),
            "annual_turnover": 10 ** rng.uniform(7, 9, n),
            "onboarded_on": pd.Timestamp("2015-01-01"),
        },
        index=pd.RangeIndex(1, n + 1, name="account_id"),
    )
    has_a = rng.random(n) < 0.5
    held = pd.DataFrame(
        {"A": has_a * 1.0, "B": 0.0, "C": (rng.random(n) < 0.7) * 1.0}, index=accounts.index
    )

    def opened_draw() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "A": 0.0,
                "B": (rng.random(n) < np.where(has_a, 0.30, 0.02)) * 1.0,
                "C": (rng.random(n) < 0.03) * 1.0,
            },
            index=accounts.index,
        )

    x = gr.features(accounts, held, DAY)
    model = gr.fit_propensity(x, held, opened_draw())
    assert model.params["B"]["has_A"] > 1.5
    scores = model.score(x, held)
    result = gr.backtest(scores, held, opened_draw(), held.mean().to_dict(), ks=(1,), n_boot=300)
    assert result[0]["lift"] > 1.2
    assert result[0]["lift_low"] > 1


def test_rates_with_wilson_intervals() -> None:
    frame = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10, "y": [1] * 3 + [0] * 7 + [1] * 9 + [0]})
    table = gr.rate_table(frame, "g", "y").set_index("g")
    assert table.loc["a", "rate"] == pytest.approx(0.3)
    assert table.loc["b", "low"] < 0.9 < table.loc["b", "high"]


def _inputs_from_demo(seed: int) -> dict:
    frames = generate(DemoSpec(n_accounts=2000, seed=seed, end_month=dt.date(2026, 6, 1)))
    products = frames["products"][["id", "code"]]
    code = products.set_index("id")["code"]
    holdings = frames["holdings"].assign(product=lambda d: d["product_id"].map(code))
    rev = frames["revenue_monthly"]
    rev = rev[pd.to_datetime(rev["month"]) >= pd.Timestamp("2025-07-01")]
    revenue = (
        rev.assign(product=rev["product_id"].map(code))
        .groupby(["account_id", "product"], as_index=False)["revenue"]
        .sum()
        .rename(columns={"revenue": "revenue_12m"})
    )
    return {
        "accounts": frames["accounts"].rename(columns={"id": "account_id"}).set_index("account_id"),
        "holdings": holdings[["account_id", "product", "opened_on", "closed_on"]],
        "monthly": frames["account_monthly"][["account_id", "month", "products_held"]],
        "products": products,
        "revenue": revenue,
        "last": dt.date(2026, 6, 1),
    }


@pytest.mark.slow
def test_planted_affinities_and_depth_effect_are_recovered() -> None:
    planted = PLANTED["churn.or_per_product"][0]
    for seed in (1, 2):
        rows, stats = compute_growth(_inputs_from_demo(seed))
        top1 = stats["backtest"][0]
        assert top1["k"] == 1
        assert top1["lift"] > 1
        assert top1["lift_low"] > 1, (seed, top1)
        depth = stats["depth"]["adjusted"]
        assert depth["low"] <= planted <= depth["high"], (seed, depth)
        # Raw depth effect is stronger than the adjusted one (size and tenure confound it).
        assert stats["depth"]["raw"]["odds_ratio"] < depth["odds_ratio"]
        assert rows["rank"].min() == 1
        assert (rows["propensity"].between(0, 1)).all()
