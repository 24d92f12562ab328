"""App: the authorisation matrix — every loader, page, deep link and export of an account
manager shows team A's accounts and nothing of any other team, also after an executive
filled the caches first and when links are edited by hand.

A leak detector walks everything a loader returns and everything a page draws (tables,
texts, captions, metrics, chart data) and looks for any other team's account code, account
name or (in ``account_id`` columns) account id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from components.shell import PAGES
from data_access import cached
from data_access.engine import create_engine_for
from data_access.interventions import InterventionQuery
from data_access.satisfaction import CommentQuery
from data_access.scope import Filters, Scope
from tests.app.conftest import run_page

END = dt.date(2026, 6, 30)


@dataclasses.dataclass(frozen=True)
class Others:
    """What a manager of team A must never see: other teams' accounts."""

    manager: Scope
    ids: frozenset[int]
    codes: frozenset[str]
    names: frozenset[str]
    own_codes: frozenset[str]
    intervention: int
    account: str

    def leaks_in(self, texts: set[str]) -> set[str]:
        return {s for s in texts if s in self.codes or s in self.names}


@pytest.fixture
def others(app_db: URL) -> Others:
    engine = create_engine_for(app_db)
    with engine.connect() as conn:
        uid, team = conn.execute(
            text("SELECT id, team_id FROM users WHERE username = 'manager'")
        ).one()
        rows = conn.execute(text("SELECT id, code, name, team_id FROM accounts")).all()
        intervention = conn.execute(
            text(
                "SELECT MIN(i.id) FROM interventions i JOIN accounts a ON a.id = i.account_id "
                "WHERE a.team_id <> :a"
            ),
            {"a": team},
        ).scalar()
    engine.dispose()
    own_names = {r.name for r in rows if r.team_id == team}
    other = [r for r in rows if r.team_id != team]
    return Others(
        manager=Scope(uid, "account_manager", team),
        ids=frozenset(r.id for r in other),
        codes=frozenset(r.code for r in other),
        names=frozenset(r.name for r in other if r.name not in own_names),
        own_codes=frozenset(r.code for r in rows if r.team_id == team),
        intervention=intervention,
        account=min(r.code for r in other),
    )


def _strings(value: object, out: set[str], ids: set[int]) -> None:
    """Every string inside ``value``; ids from ``account_id`` columns go to ``ids``."""
    if isinstance(value, pd.DataFrame):
        for col in value.columns:
            if col == "account_id":
                ids.update(int(v) for v in value[col].dropna())
            elif value[col].dtype == object or pd.api.types.is_string_dtype(value[col]):
                for v in value[col].dropna():
                    _strings(v, out, ids)
        _strings([str(i) for i in value.index if isinstance(i, str)], out, ids)
    elif isinstance(value, pd.Series):
        _strings(value.to_frame(), out, ids)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _strings(getattr(value, f.name), out, ids)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(k, out, ids)
            _strings(v, out, ids)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _strings(v, out, ids)
    elif isinstance(value, str):
        out.add(value)
        out.update(value.removeprefix("/profile?account=").split())
        if value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                _strings(json.loads(value), out, ids)


def _leaks(value: object, others: Others) -> set[str]:
    texts: set[str] = set()
    ids: set[int] = set()
    _strings(value, texts, ids)
    return others.leaks_in(texts) | {f"account_id {i}" for i in ids & others.ids}


def _loaders(scope: Scope, filters: Filters, version: int, others: Others) -> dict:
    return {
        "filter_options": cached.load_filter_options(scope, version),
        "overview": cached.load_overview(scope, filters, version),
        "account_list": cached.load_account_list(scope, filters, version),
        "profile_of_other_team": cached.load_profile(scope, others.account, END, version),
        "lifecycle": cached.load_lifecycle(scope, filters, version),
        "interventions": cached.load_interventions(scope, InterventionQuery(), version),
        "intervention_of_other_team": cached.load_intervention(scope, others.intervention),
        "alerts": cached.load_my_alerts(scope, END, version),
        "scope_accounts": cached.load_scope_accounts(scope, version),
        "owner_choices": cached.load_owner_choices(scope, None, version),
        "satisfaction": cached.load_satisfaction(scope, filters, version),
        "comments": cached.load_comments(scope, filters, CommentQuery(surveys=()), version),
        "detractors": cached.load_open_detractors(scope, filters, 14, END, version),
        "growth": cached.load_growth(scope, filters, version),
        # Asked by id for another team's accounts: the scope still decides.
        "account_details": cached.load_account_details(
            scope, filters, tuple(sorted(others.ids)), version
        ),
        "holdings_asked_by_id": cached.load_holdings(
            scope, filters, tuple(sorted(others.ids)), version
        ),
        "holdings": cached.load_holdings(scope, filters, None, version),
        "peer_shares": cached.load_peer_shares(filters.period_month, version),
        "offers": cached.load_offers(scope, filters, version),
        "loyalty": cached.load_loyalty(scope, filters, version),
    }


def test_every_cached_loader_keeps_a_manager_inside_the_team(app_db: URL, others) -> None:
    version = cached.data_version()
    filters = Filters(period_end=END)
    executive = _loaders(Scope(1, "executive"), filters, version, others)  # caches filled
    assert _leaks(executive["account_list"], others), "the detector must see other teams"
    assert _leaks(executive["account_details"], others)
    assert _leaks(executive["holdings_asked_by_id"], others)
    manager = _loaders(others.manager, filters, version, others)
    assert {k: sorted(_leaks(v, others))[:3] for k, v in manager.items() if _leaks(v, others)} == {}
    assert manager["profile_of_other_team"] is None
    assert manager["intervention_of_other_team"] is None
    listed = {c.removeprefix("/profile?account=") for c in manager["account_list"]["code"]}
    assert listed <= others.own_codes
    assert listed
    team = others.manager.team_id
    team_only = cached.load_account_list(
        Scope(1, "executive"), Filters(END, team_ids=(team,)), version
    )
    assert len(team_only) == len(manager["account_list"])
    # A manager's scope even overrides a hand-made team filter naming another team.
    edited = Filters(period_end=END, team_ids=(team + 1,))
    assert cached.load_account_list(others.manager, edited, version).empty


MANAGER_PAGES = [p.path for p in PAGES if "account_manager" in p.roles]


def _page_strings(at) -> set[str]:
    texts: set[str] = set()
    ids: set[int] = set()

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            for field, value in proto.ListFields():
                # A search box's example ("e.g. C100123") is not data shown to the user.
                if isinstance(value, str) and field.name != "placeholder":
                    _strings(value, texts, ids)
        value = getattr(node, "value", None)
        if isinstance(value, pd.DataFrame | str):
            _strings(value, texts, ids)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return texts


# Pages drawn with cards.render_sections draw only the open tab: every tab is opened.
SECTIONS = {
    "pages/profile.py": "profile.section",
    "pages/satisfaction.py": "sat.tab",
    "pages/growth.py": "growth.tab",
    "pages/interventions.py": "iv.tab",
}


@pytest.mark.parametrize("path", MANAGER_PAGES)
def test_every_page_shows_a_manager_only_the_team(app_db: URL, others, path: str) -> None:
    run_page(path, app_db, "exec")  # an executive fills the caches first
    at = run_page(path, app_db, "manager")
    assert not at.exception
    seen = _page_strings(at)
    labels = [tab.label for tab in at.tabs] if path in SECTIONS else []
    for label in labels[1:]:
        at.session_state[f"_w_tabs_{SECTIONS[path]}"] = label
        at.run()
        assert not at.exception
        seen |= _page_strings(at)
    assert others.own_codes & seen or path.endswith(("profile.py", "interventions.py"))
    assert others.leaks_in(seen) == set()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("pages/profile.py", "account"),
        ("pages/interventions.py", "id"),
        ("pages/accounts.py", "q"),
    ],
)
def test_hand_edited_links_to_other_teams_show_nothing(
    app_db: URL, others, path: str, query: str
) -> None:
    value = str(others.intervention) if query == "id" else others.account
    run_page(path, app_db, "exec", query={query: value})
    at = run_page(path, app_db, "manager", query={query: value})
    assert not at.exception
    # What the user typed into the link is echoed in the search box; nothing else may show.
    assert others.leaks_in(_page_strings(at)) - {value} == set()
    if query == "q":
        assert all(d.value.empty for d in at.dataframe)
    else:
        assert any("not found or not permitted" in e.value for e in at.error)
