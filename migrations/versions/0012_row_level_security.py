"""row-level security on PostgreSQL; session ids stored as hashes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 16:30:00

On PostgreSQL every table with an ``account_id`` column, and ``accounts`` itself,
shows a role other than the owner only the rows of the viewer that the current
transaction acts for: executives and admins see all accounts, an account manager
only the accounts of their team, and a transaction that named no viewer sees none.
The viewer is named by ``strata_enter_scope(session_id)``, which checks the session
against the (hashed) session table with the owner's rights. The audit trail can be
appended to by anyone but read in full only by executives and admins (others read
their own entries). SQLite has no
row-level security; there the data layer's scope is the only wall.
"""

import hashlib

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SEES_ALL = "(SELECT strata_sees_all())"


def _hash_session_ids() -> None:
    conn = op.get_bind()
    for (sid,) in conn.execute(sa.text("SELECT id FROM user_sessions")).all():
        if len(sid) == 64 and all(c in "0123456789abcdef" for c in sid):
            continue  # already a hash (upgrade after a downgrade)
        conn.execute(
            sa.text("UPDATE user_sessions SET id = :new WHERE id = :old"),
            {"new": hashlib.sha256(sid.encode()).hexdigest(), "old": sid},
        )


def _account_bound_tables(conn) -> list[str]:
    return list(
        conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name = 'account_id' "
                "ORDER BY table_name"
            )
        ).scalars()
    )


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "viewer_scopes",
        sa.Column("backend_pid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("backend_pid", name=op.f("pk_viewer_scopes")),
        prefixes=["UNLOGGED"] if pg else [],
    )
    _hash_session_ids()
    if not pg:
        return
    conn = op.get_bind()
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    path = f'SET search_path = "{schema}", pg_temp'
    op.execute("REVOKE ALL ON viewer_scopes FROM PUBLIC")
    op.execute(
        f"""
        CREATE FUNCTION strata_enter_scope(p_session text) RETURNS text
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
        DECLARE v record;
        BEGIN
          SELECT u.id, u.role, u.team_id INTO v
            FROM user_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = encode(sha256(convert_to(p_session, 'UTF8')), 'hex')
             AND s.revoked_at IS NULL
             AND s.expires_at > (now() AT TIME ZONE 'UTC')
             AND u.active;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'no live session to act for' USING ERRCODE = '42501';
          END IF;
          INSERT INTO viewer_scopes (backend_pid, xact, user_id, role, team_id)
          VALUES (pg_backend_pid(), pg_current_xact_id()::text::bigint, v.id, v.role, v.team_id)
          ON CONFLICT (backend_pid) DO UPDATE
             SET xact = EXCLUDED.xact, user_id = EXCLUDED.user_id,
                 role = EXCLUDED.role, team_id = EXCLUDED.team_id;
          RETURN v.role;
        END $$
        """
    )
    current = (
        "backend_pid = pg_backend_pid() "
        "AND xact = pg_current_xact_id_if_assigned()::text::bigint"
    )
    op.execute(
        f"""
        CREATE FUNCTION strata_sees_all() RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
          SELECT EXISTS (SELECT 1 FROM viewer_scopes
                          WHERE {current} AND role IN ('executive', 'admin'))
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION strata_viewer_team() RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
          SELECT team_id FROM viewer_scopes WHERE {current} AND role = 'account_manager'
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION strata_viewer_user() RETURNS integer
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
          SELECT user_id FROM viewer_scopes WHERE {current}
        $$
        """
    )
    op.execute("ALTER TABLE accounts ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY viewer_scope ON accounts "
        f"USING ({SEES_ALL} OR team_id = (SELECT strata_viewer_team()))"
    )
    for table in _account_bound_tables(conn):
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY viewer_scope ON "{table}" '
            f"USING ({SEES_ALL} OR account_id IN (SELECT id FROM accounts))"
        )
    op.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    # Account managers read their own entries only (a write's RETURNING needs it).
    op.execute(
        f"CREATE POLICY audit_read ON audit_log FOR SELECT "
        f"USING ({SEES_ALL} OR user_id = (SELECT strata_viewer_user()))"
    )
    op.execute("CREATE POLICY audit_append ON audit_log FOR INSERT WITH CHECK (true)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        conn = op.get_bind()
        op.execute("DROP POLICY audit_append ON audit_log")
        op.execute("DROP POLICY audit_read ON audit_log")
        op.execute("ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY")
        for table in ["accounts", *_account_bound_tables(conn)]:
            op.execute(f'DROP POLICY viewer_scope ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        op.execute("DROP FUNCTION strata_viewer_user()")
        op.execute("DROP FUNCTION strata_viewer_team()")
        op.execute("DROP FUNCTION strata_sees_all()")
        op.execute("DROP FUNCTION strata_enter_scope(text)")
    # Session ids stay hashed: no cookie matches them under the older code, so every
    # session simply ends and users sign in again.
    op.drop_table("viewer_scopes")
