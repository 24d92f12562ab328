"""App: the lifecycle & retention page and the model validation lab, per role."""

from sqlalchemy import text
from sqlalchemy.engine import URL

from data_access.engine import create_engine_for
from tests.app.conftest import run_page

OBSERVED = (
    "SELECT COUNT(*) FROM accounts WHERE onboarded_on <= '2026-06-30' "
    "AND (churned_on IS NULL OR churned_on >= '2023-07-01') {team}"
)


def _rows(url: URL, sql: str) -> list:
    engine = create_engine_for(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)).scalars())
    engine.dispose()
    return rows


def test_lifecycle_page_for_executive(app_db: URL) -> None:
    at = run_page("pages/lifecycle.py", app_db, "exec")
    assert not at.exception
    assert "Lifecycle & retention" in [t.value for t in at.title]
    assert {c.key for c in at.get("plotly_chart")} == {
        "stage_dist",
        "stage_sankey",
        "tier_sankey",
        "km_tier",
        "km_depth",
        "forest",
    }
    captions = [c.value for c in at.caption]
    assert sum("Log-rank test" in c for c in captions) == 2
    # Every account observed in the 36-month window is in exactly one tier curve.
    tier_line = next(c for c in captions if c.startswith(("Basic: n", "Strategic: n", "Value: n")))
    counts = [
        int(part.split("n = ")[1].split(",")[0].replace(",", "")) for part in tier_line.split(" · ")
    ]
    assert sum(counts) == _rows(app_db, OBSERVED.format(team=""))[0]


def test_lifecycle_page_is_scoped_for_managers(app_db: URL) -> None:
    at = run_page("pages/lifecycle.py", app_db, "manager")
    assert not at.exception
    observed = _rows(app_db, OBSERVED.format(team="AND team_id = 1"))[0]
    assert f"{observed:,} accounts observed" in at.caption[0].value
    at_risk = next(df.value for df in at.dataframe if "revenue_at_risk" in df.value.columns)
    codes = {c.removeprefix("/profile?account=") for c in at_risk["link"]}
    assert codes
    assert codes <= set(_rows(app_db, "SELECT code FROM accounts WHERE team_id = 1"))


def test_model_lab_for_executive(app_db: URL) -> None:
    at = run_page("pages/models.py", app_db, "exec")
    assert not at.exception
    assert "Model validation lab" in [t.value for t in at.title]
    assert {c.key for c in at.get("plotly_chart")} == {"auc", "calibration", "lift"}
    weights = next(df.value for df in at.dataframe if "fitted" in df.value.columns)
    assert abs(weights["fitted"].sum() - 1) < 1e-3
    assert abs(weights["expert"].sum() - 1) < 1e-9


def test_model_lab_is_not_for_account_managers(app_db: URL) -> None:
    at = run_page("pages/models.py", app_db, "manager")
    assert [e.value for e in at.error] == ["Your role may not open this page."]
    assert len(at.get("plotly_chart")) == 0
