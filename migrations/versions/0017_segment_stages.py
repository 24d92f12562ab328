"""Lifecycle stages and stage and tier moves per segment and month-end

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 10:00:00

The lifecycle page read every stage event and tier change of the accounts in view
(360,000 rows at 104,000 accounts) to count stages at 24 month-ends and the moves of a
12-month period. Both are sums over accounts, now kept per segment (team, tier, region,
industry) and month like the revenue totals, by the demo load, imports, tier changes and
the refresh job. An index on account and date finds the tier an account held on a day by
one seek.
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SEES_ALL = "(SELECT strata_sees_all())"
DIMS = [
    ("team_id", sa.Integer()),
    ("tier", sa.String(length=20)),
    ("region", sa.String(length=32)),
    ("industry", sa.String(length=40)),
]


def _dims() -> list[sa.Column]:
    return [sa.Column(name, kind, nullable=False) for name, kind in DIMS]


def upgrade() -> None:
    from data_access import stage_rollup

    op.create_table(
        "segment_stage_counts",
        sa.Column("month", sa.Date(), nullable=False),
        *_dims(),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_segment_stage_counts_team_id_teams")
        ),
        sa.PrimaryKeyConstraint(
            "month", "team_id", "tier", "region", "industry", "stage",
            name=op.f("pk_segment_stage_counts"),
        ),
    )
    op.create_table(
        "segment_stage_flows",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        *_dims(),
        sa.Column("from_stage", sa.String(length=20), nullable=False),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_segment_stage_flows_team_id_teams")
        ),
        sa.PrimaryKeyConstraint(
            "month", "kind", "team_id", "tier", "region", "industry", "from_stage", "to_stage",
            name=op.f("pk_segment_stage_flows"),
        ),
    )
    op.create_index(
        "ix_tier_history_account_date", "tier_history", ["account_id", "changed_on"]
    )
    conn = op.get_bind()
    stage_rollup.rebuild_tables(conn)
    if conn.dialect.name == "postgresql":
        for table in ("segment_stage_counts", "segment_stage_flows"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY viewer_scope ON {table} "
                f"USING ({SEES_ALL} OR team_id = (SELECT strata_viewer_team()))"
            )


def downgrade() -> None:
    op.drop_index("ix_tier_history_account_date", table_name="tier_history")
    op.drop_table("segment_stage_flows")
    op.drop_table("segment_stage_counts")
