"""Unit: row-level security on the real PostgreSQL server — raw SQL through the app's
connection reads only the rows of the viewer its transaction acts for, and cannot
choose another viewer.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from data_access import auth, cached, interventions, row_security
from data_access.demo import DemoSpec
from data_access.engine import create_engine_for
from data_access.schema import Base
from data_access.scope import Scope
from data_access.seed import build_demo_database
from tests.conftest import _pg_admin, app_role_url, fresh_pg_database

pytestmark = pytest.mark.postgres

BOUND = sorted(t.name for t in Base.metadata.sorted_tables if "account_id" in t.columns)


class Db:
    def __init__(self, owner: Engine, app: Engine) -> None:
        self.owner, self.app = owner, app

    def session(self, username: str) -> tuple[str, Scope]:
        """Sign ``username`` in (as the app does) and return the session id and scope."""
        with self.owner.begin() as conn:
            user = auth.fetch_user(
                conn,
                conn.execute(
                    text("SELECT id FROM users WHERE username = :u"), {"u": username}
                ).scalar_one(),
            )
            cookie, _ = auth.create_session(conn, user)
        sid = cookie.split(".")[0]
        return sid, Scope(user.id, user.role, user.team_id, session_id=sid)

    def owner_count(self, table: str, team: int | None = None) -> int:
        with self.owner.connect() as conn:
            if team is None:
                return conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            if table == "accounts":
                sql = "SELECT count(*) FROM accounts WHERE team_id = :t"
            else:
                sql = (
                    f'SELECT count(*) FROM "{table}" x JOIN accounts a ON a.id = x.account_id '
                    "WHERE a.team_id = :t"
                )
            return conn.execute(text(sql), {"t": team}).scalar_one()


@pytest.fixture(scope="module")
def db() -> Iterator[Db]:
    url = fresh_pg_database(f"strata_rls_{os.getpid()}")
    owner = create_engine_for(url)
    build_demo_database(owner, DemoSpec(n_accounts=120, seed=5, end_month=dt.date(2026, 6, 1)))
    app = create_engine_for(app_role_url(url))
    row_security.install(app)
    yield Db(owner, app)
    app.dispose()
    owner.dispose()
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _counts(conn, tables: list[str]) -> dict[str, int]:
    return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def test_every_account_bound_table_has_a_policy(db: Db) -> None:
    assert len(BOUND) >= 14
    with db.owner.connect() as conn:
        secured = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
                    "WHERE c.relrowsecurity"
                )
            ).scalars()
        )
        assert row_security.is_enforced(conn) is False  # the owner is not subject
    assert {"accounts", "audit_log", *BOUND} <= secured
    with db.app.connect() as conn:
        assert row_security.is_enforced(conn) is True


def test_without_a_named_viewer_no_account_row_is_readable(db: Db) -> None:
    with db.app.connect() as conn:
        assert _counts(conn, ["accounts", "audit_log", *BOUND]) == dict.fromkeys(
            ["accounts", "audit_log", *BOUND], 0
        )
        # Not account-bound: the catalogue and settings stay readable.
        assert conn.execute(text("SELECT count(*) FROM products")).scalar_one() > 0


def test_raw_sql_as_an_account_manager_reads_only_the_team(db: Db) -> None:
    sid, scope = db.session("manager")
    with row_security.acting_for(sid), db.app.connect() as conn:
        seen = _counts(conn, ["accounts", *BOUND])
        others = conn.execute(
            text("SELECT count(*) FROM accounts WHERE team_id <> :t"), {"t": scope.team_id}
        ).scalar_one()
        audit = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE user_id <> :u"), {"u": scope.user_id}
        ).scalar_one()
    expected = {t: db.owner_count(t, scope.team_id) for t in ["accounts", *BOUND]}
    assert seen == expected
    assert others == 0
    assert audit == 0  # others' audit entries are for executives and admins
    # The team's share is real, not empty, and smaller than the portfolio.
    for table in ("accounts", "revenue_monthly", "interactions", "account_scores"):
        assert 0 < seen[table] < db.owner_count(table), table


def test_executives_see_the_whole_portfolio(db: Db) -> None:
    sid, _ = db.session("exec")
    with row_security.acting_for(sid), db.app.connect() as conn:
        seen = _counts(conn, ["accounts", "audit_log", *BOUND])
    assert seen == {t: db.owner_count(t) for t in ["accounts", "audit_log", *BOUND]}


def test_the_viewer_ends_with_the_transaction(db: Db) -> None:
    sid, _ = db.session("exec")
    with db.app.connect() as conn:
        with row_security.acting_for(sid):
            assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() > 0
            conn.commit()
        # The same pooled connection, next transaction, no viewer named: nothing.
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 0


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("SELECT strata_enter_scope('made-up-session')", "no live session"),
        ("SELECT * FROM viewer_scopes", "permission denied"),
        (
            "INSERT INTO viewer_scopes VALUES (pg_backend_pid(), 1, 1, 'executive', NULL)",
            "permission denied",
        ),
        ("SET ROLE postgres", "permission denied"),
        ("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY", "must be owner"),
        ("DROP POLICY viewer_scope ON accounts", "must be owner"),
        ("DELETE FROM audit_log", "permission denied"),
        ("UPDATE audit_log SET action = 'x'", "permission denied"),
    ],
)
def test_an_account_manager_cannot_widen_the_scope(db: Db, statement: str, refusal: str) -> None:
    sid, _ = db.session("manager")
    refused = pytest.raises(DBAPIError, match=refusal)
    with row_security.acting_for(sid), db.app.connect() as conn, refused:
        conn.execute(text(statement))


def test_a_session_id_read_from_the_table_opens_nothing(db: Db) -> None:
    sid, _ = db.session("exec")
    with db.owner.connect() as conn:
        stored = list(conn.execute(text("SELECT id FROM user_sessions")).scalars())
    assert sid not in stored
    with db.app.connect() as conn, pytest.raises(DBAPIError, match="no live session"):
        conn.execute(text("SELECT strata_enter_scope(:s)"), {"s": stored[-1]})


def test_a_logged_out_session_opens_nothing(db: Db) -> None:
    sid, scope = db.session("exec")
    with db.owner.begin() as conn:
        auth.revoke_session(conn, sid, scope.user_id)
    refused = pytest.raises(DBAPIError, match="no live session")
    with row_security.acting_for(sid), db.app.connect() as conn, refused:
        conn.execute(text("SELECT count(*) FROM accounts"))


def test_writes_stay_inside_the_team(db: Db) -> None:
    sid, scope = db.session("manager")
    with db.owner.connect() as conn:
        own, other = (
            conn.execute(
                text(f"SELECT min(id) FROM accounts WHERE team_id {op} :t"),
                {"t": scope.team_id},
            ).scalar_one()
            for op in ("=", "<>")
        )
    with row_security.acting_for(sid), db.app.begin() as conn:
        changed = conn.execute(
            text("UPDATE accounts SET potential = potential WHERE id = :a"), {"a": other}
        ).rowcount
    assert changed == 0
    refused = pytest.raises(DBAPIError, match="violates row-level security policy")
    with row_security.acting_for(sid), db.app.connect() as conn, refused:
        conn.execute(
            text(
                "INSERT INTO interactions (account_id, occurred_on, channel, subject, "
                "sentiment, user_id) VALUES (:a, '2026-06-01', 'phone', 'x', 0, :u)"
            ),
            {"a": other, "u": scope.user_id},
        )
    # The app's own write path works under the policies, audit trail included.
    data = interventions.InterventionInput(
        kind="care_visit",
        title="Quarterly care visit",
        owner_id=scope.user_id,
        due_on=dt.date(2026, 7, 15),
    )
    with row_security.acting_for(sid), db.app.begin() as conn:
        new_id, created = interventions.create_intervention(
            conn, scope, own, data, request_token="rls-test"
        )
    assert created
    with db.owner.connect() as conn:
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE entity_id = :i AND action = 'create'"),
            {"i": str(new_id)},
        ).scalar_one()
    assert audited == 1


def test_the_cache_boundary_names_the_viewer(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cached`` loaders acting for a manager read through the policies, same as before."""
    _, scope = db.session("manager")
    url = db.app.url.render_as_string(hide_password=False)
    monkeypatch.setenv("STRATA_DATABASE_URL", url)
    version = cached.data_version()
    scopes = cached.load_scope_accounts(scope, version)
    assert len(scopes) == db.owner_count("accounts", scope.team_id) - _churned(db, scope.team_id)
    # A scope without its session names no viewer: the policies show nothing (another
    # version number, so the figures cached for the same user are not reused).
    bare = Scope(scope.user_id, scope.role, scope.team_id)
    assert cached.load_scope_accounts(bare, version + 1).empty


def _churned(db: Db, team: int) -> int:
    with db.owner.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM accounts WHERE team_id = :t AND status <> 'active'"),
            {"t": team},
        ).scalar_one()
