"""Unit: the demo generator — deterministic, realistic, and its planted truth is recorded."""

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text

from data_access.demo import PLANTED, DemoSpec, generate
from data_access.schema import Account, AccountMonthly, DemoTruth, Product, RevenueMonthly
from tests.conftest import FIXTURE_SPEC

SMALL = DemoSpec(n_accounts=150, seed=3, end_month=dt.date(2025, 12, 1))


def test_same_spec_gives_identical_tables() -> None:
    first, second = generate(SMALL), generate(SMALL)
    for name in ("accounts", "revenue_monthly", "survey_responses", "interventions"):
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_another_portfolio() -> None:
    other = generate(DemoSpec(n_accounts=150, seed=4, end_month=dt.date(2025, 12, 1)))
    assert not generate(SMALL)["accounts"]["name"].equals(other["accounts"]["name"])


def test_too_small_a_portfolio_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        generate(DemoSpec(n_accounts=50))


def test_portfolio_has_36_months_and_chinese_company_names() -> None:
    tables = generate(SMALL)
    months = pd.to_datetime(tables["revenue_monthly"]["month"]).dt.to_period("M").unique()
    assert len(months) == 36
    assert str(max(months)) == "2025-12"
    assert tables["accounts"]["name"].str.endswith("有限公司").all()
    assert tables["accounts"]["code"].is_unique


def test_products_are_corporate_banking_products() -> None:
    codes = set(generate(SMALL)["products"]["code"])
    assert codes == {"DEP", "LOAN", "CASH", "TRADE", "FX", "PAYROLL", "SCF", "WEALTH"}


def test_default_end_month_is_last_complete_month() -> None:
    end = DemoSpec().resolved_end_month()
    today = dt.date.today()
    assert end < today.replace(day=1)
    assert (today.replace(day=1) - end).days <= 31


def test_planted_truth_is_recorded_in_the_database(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        truth = dict(conn.execute(select(DemoTruth.key, DemoTruth.value)).all())
    for key, (value, _description) in PLANTED.items():
        assert truth[key] == pytest.approx(value)
    assert truth["demo.seed"] == FIXTURE_SPEC.seed
    assert truth["demo.n_accounts"] == FIXTURE_SPEC.n_accounts


def test_rollup_equals_fact_table(fixture_engine: Engine) -> None:
    with fixture_engine.connect() as conn:
        facts = conn.execute(select(func.sum(RevenueMonthly.revenue))).scalar()
        rollup = conn.execute(select(func.sum(AccountMonthly.revenue))).scalar()
        n_accounts = conn.execute(select(func.count()).select_from(Account)).scalar()
        n_products = conn.execute(select(func.count()).select_from(Product)).scalar()
    assert rollup == pytest.approx(facts, rel=1e-9)
    assert n_accounts == 400
    assert n_products == 8


def test_every_table_the_design_names_is_filled(fixture_engine: Engine) -> None:
    tables = [
        "teams",
        "users",
        "accounts",
        "products",
        "holdings",
        "revenue_monthly",
        "transactions",
        "contacts",
        "interactions",
        "survey_responses",
        "lifecycle_events",
        "tier_history",
        "interventions",
        "account_scores",
        "stakeholder_changes",
    ]
    with fixture_engine.connect() as conn:
        empty = [t for t in tables if not conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()]
    assert empty == []


def test_extra_products_go_with_less_churn() -> None:
    """The planted product-depth effect is visible in raw churn rates."""
    tables = generate(DemoSpec(n_accounts=3000, seed=11, end_month=dt.date(2025, 12, 1)))
    held = tables["holdings"].groupby("account_id")["product_id"].nunique()
    acc = tables["accounts"].set_index("id")
    churned = acc["status"].eq("churned")
    deep = churned[held.reindex(acc.index).fillna(0) >= 4].mean()
    shallow = churned[held.reindex(acc.index).fillna(0) <= 2].mean()
    assert deep < shallow
