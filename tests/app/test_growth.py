"""App: the growth page per role — scope, the model run's figures, the matrix filter."""

from __future__ import annotations

import json

from sqlalchemy.engine import URL

from tests.app.conftest import run_page
from tests.conftest import scalar

PAGE = "pages/growth.py"


def _table(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_executive_sees_the_backtest_and_depth_of_the_latest_run(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec")
    assert not at.exception
    stats = scalar(app_db, "SELECT stats FROM model_runs WHERE kind = 'growth' ORDER BY id DESC")
    stats = json.loads(stats) if isinstance(stats, str) else stats
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Backtest lift at k = 1"] == f"{stats['backtest'][0]['lift']:.2f}"
    adjusted = stats["depth"]["adjusted"]["odds_ratio"]
    assert metrics["Odds ratio per extra product, adjusted"] == f"{adjusted:.3f}"


def test_manager_sees_only_their_teams_opportunities(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "manager", tab=("growth.tab", "nbp"))
    assert not at.exception
    nbp = _table(at, "reason")
    codes = set(nbp["code"].str.extract(r"account=(.*)$")[0])
    team1 = scalar(
        app_db,
        "SELECT COUNT(*) FROM accounts WHERE team_id = 1 AND code IN ("
        + ",".join(f"'{c}'" for c in codes)
        + ")",
    )
    assert team1 == len(codes) > 0


def test_matrix_follows_the_product_filter(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "exec")
    at.multiselect(key="_w_gr_products").set_value(["FX"]).run()
    matrix = _table(at, "total")
    product_columns = [c for c in matrix.columns if c not in ("code", "name", "group", "total")]
    assert product_columns == ["FX and hedging"]
    assert matrix["total"].is_monotonic_decreasing or len(matrix["group"].unique()) > 1


def test_admin_sees_the_page_and_every_section(app_db: URL) -> None:
    at = run_page(PAGE, app_db, "admin")
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [
        "Whitespace",
        "Next best product",
        "Backtest",
        "Depth & retention",
        "Offers",
        "Loyalty programme",
    ]
