"""App: with row-level security in force, every page shows exactly what it shows without.

The app connects once as the tables' owner (no policies apply) and once as a non-owner
role (the policies hide every row outside the viewer's scope). An account manager's
pages, peer benchmarks included, must not change: everything they show comes from the
team's own rows or from aggregate snapshots. An executive's overview must not lose
anything either.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import URL

from components.shell import PAGES
from tests.app.conftest import run_page, url_text
from tests.app.test_authorization import _page_strings
from tests.conftest import app_role_url, scalar

pytestmark = pytest.mark.postgres

MANAGER_PAGES = [p.path for p in PAGES if "account_manager" in p.roles]


@pytest.fixture(scope="module")
def urls(pg_fixture_url: URL) -> tuple[URL, URL]:
    return pg_fixture_url, app_role_url(pg_fixture_url)


def _own_account(url: URL) -> str:
    return scalar(
        url,
        "SELECT min(a.code) FROM accounts a JOIN users u ON u.team_id = a.team_id "
        "WHERE u.username = 'manager' AND a.status = 'active'",
    )


def _render(url: URL, path: str, user: str, query, monkeypatch) -> set[str]:
    monkeypatch.setenv("STRATA_DATABASE_URL", url_text(url))
    at = run_page(path, url, user, query=query)
    assert not at.exception, path
    return {_normalised(s) for s in _page_strings(at) if not _IGNORED.match(s)}


# Element ids hash their content (incl. unrounded floats); Excel files carry the time
# they were written (their CSV twins carry the content).
_IGNORED = re.compile(r"^(\$\$ID-.*|[0-9a-f]{32}|.*\.xlsx)$")
_LONG_FLOAT = re.compile(r"-?\d+\.\d{7,}")


def _normalised(s: str) -> str:
    """Sums of doubles differ in the last digits when the database adds in another order."""
    return _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.9g}", s)


@pytest.mark.parametrize(
    ("path", "user"),
    [*((p, "manager") for p in MANAGER_PAGES), ("app.py", "exec")],
)
def test_pages_are_the_same_under_row_level_security(
    urls: tuple[URL, URL], path: str, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, app = urls
    query = {"account": _own_account(owner)} if path.endswith("profile.py") else None
    plain = _render(owner, path, user, query, monkeypatch)
    secured = _render(app, path, user, query, monkeypatch)
    assert len(plain) > 20
    assert secured == plain
