"""Row-level security on PostgreSQL: the database's own wall behind the data layer's scope.

The shared deployment connects the app as a role that does not own the tables (see
the README). Migration 0012 gives every account-bound table a policy: a transaction
sees the rows of the viewer it acts for, and a transaction that named no viewer sees
no account at all. The viewer is named once per transaction by
``strata_enter_scope(session_id)``, which checks the live session with the owner's
rights; this module calls it at the start of each transaction for the viewer the
calling code set with :func:`acting_for`.

Owners, superusers and SQLite are not subject to the policies; there the data
layer's scope clauses are the wall (they are applied everywhere in any case).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

_viewer: contextvars.ContextVar[str | None] = contextvars.ContextVar("viewer", default=None)

# Tables the app's role may read and append to but never change or delete from.
APPEND_ONLY = ("audit_log",)
# Tables the app's role may not touch at all (written by the functions above).
OWNER_ONLY = ("viewer_scopes",)


@contextmanager
def acting_for(session_id: str | None) -> Iterator[None]:
    """Transactions begun inside this block act for the viewer of ``session_id``."""
    token = _viewer.set(session_id)
    try:
        yield
    finally:
        _viewer.reset(token)


# True when the connected role is subject to the policies: they exist and the role is
# neither the tables' owner nor a superuser nor allowed to bypass them.
_PROBE = (
    "SELECT coalesce(bool_and(c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls) "
    "                         AND pg_get_userbyid(c.relowner) <> current_user), false) "
    "FROM pg_roles r, pg_class c "
    "WHERE r.rolname = current_user AND c.oid = to_regclass('accounts')"
)


def is_enforced(conn: Connection) -> bool:
    """Whether the connected role is subject to the row-level security policies."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text(_PROBE)).scalar())


def install(engine: Engine) -> None:
    """Name the viewer at the start of every transaction on connections subject to RLS.

    Each new connection is probed once; on SQLite and for owners (where the policies do
    not apply) nothing is added to a transaction.
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _probe(dbapi_connection, record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(_PROBE)
            record.info["row_security"] = bool(cursor.fetchone()[0])
        finally:
            cursor.close()
            dbapi_connection.rollback()

    @event.listens_for(engine, "begin")
    def _enter_scope(conn: Connection) -> None:
        session_id = _viewer.get()
        if session_id is None or not conn.connection.info.get("row_security"):
            return  # no viewer named: the policies show no account rows
        statement = "SELECT strata_enter_scope(%s)"
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(statement, (session_id,))
        except conn.dialect.loaded_dbapi.Error as exc:
            # e.g. the session was logged out meanwhile; never show the session id
            raise DBAPIError(statement, None, exc, hide_parameters=True) from exc
        finally:
            cursor.close()


def grant_app_role(conn: Connection, role: str) -> list[str]:
    """Give the app's (non-owner) role what it needs, now and for tables made later.

    Run as the owner after each migration. Returns the statements executed.
    """
    quoted = conn.dialect.identifier_preparer.quote(role)
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    q_schema = conn.dialect.identifier_preparer.quote(schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {q_schema} TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q_schema} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q_schema} TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        *(f"REVOKE UPDATE, DELETE ON {t} FROM {quoted}" for t in APPEND_ONLY),
        *(f"REVOKE ALL ON {t} FROM {quoted}" for t in OWNER_ONLY),
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
        f"GRANT EXECUTE ON FUNCTION strata_enter_scope(text) TO {quoted}",
    ]
    for statement in statements:
        conn.execute(text(statement))
    return statements
