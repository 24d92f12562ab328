"""12-month revenue windows per account and month; monthly totals per segment

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 14:00:00

Pages read each account's revenue over the 12 months to the period (and the 12 before)
from one row instead of summing 24 rows of the monthly rollup: at 104,000 accounts the
overview summed 2.5 million rows per view. Monthly revenue and NPS answers per segment
(team, tier, region, industry) serve the monthly totals and NPS of any filter. Both are
filled here and kept up to date by the demo load, imports, tier changes and the refresh.
"""

from alembic import op
import pandas as pd
import sqlalchemy as sa


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SEES_ALL = "(SELECT strata_sees_all())"


def upgrade() -> None:
    from data_access.bulk import insert_frame
    from data_access.windows import period_rows

    table = op.create_table(
        "account_periods",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("revenue_12m", sa.Float(), nullable=False),
        sa.Column("revenue_prev_12m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_periods_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("month", "account_id", name=op.f("pk_account_periods")),
    )
    op.create_table(
        "segment_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("industry", sa.String(length=40), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("promoters", sa.Integer(), nullable=False),
        sa.Column("detractors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_segment_monthly_team_id_teams")
        ),
        sa.PrimaryKeyConstraint(
            "month", "source", "team_id", "tier", "region", "industry",
            name=op.f("pk_segment_monthly"),
        ),
    )
    conn = op.get_bind()
    # The segment rows are filled by 0016, which adds the survey columns that
    # ``segments.rebuild`` writes.
    monthly = pd.DataFrame(
        conn.execute(sa.text("SELECT account_id, month, revenue FROM account_monthly")).all(),
        columns=["account_id", "month", "revenue"],
    )
    insert_frame(conn, table, period_rows(monthly))
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE account_periods ENABLE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY viewer_scope ON account_periods "
            f"USING ({SEES_ALL} OR account_id IN (SELECT id FROM accounts))"
        )
        op.execute("ALTER TABLE segment_monthly ENABLE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY viewer_scope ON segment_monthly "
            f"USING ({SEES_ALL} OR team_id = (SELECT strata_viewer_team()))"
        )


def downgrade() -> None:
    op.drop_table("segment_monthly")
    op.drop_table("account_periods")
