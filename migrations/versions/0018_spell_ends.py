"""The day each stage event and tier change stopped holding

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24 14:00:00

The lifecycle page looked up each account's stage and tier on a day by one index seek
per account: 416,000 seeks at 104,000 accounts, 1.5-2 s on PostgreSQL. Each stage event
and tier change now carries ``ended_on``, the day the account's next one took over
(empty while it holds), so "the row holding on a day" is a range condition the database
filters or joins in one pass. ``stage_rollup.rebuild`` keeps it, with the segment
tables, after whatever adds events or tier changes. The account-month index by month
holds the products held too, so one month's product depth (where observation starts)
is read from the index alone, and the account-and-day indexes of both tables hold the
end and the stage or tier, so the row holding on a day is read from the index alone.
"""

from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SPELLS = [("lifecycle_events", "entered_on", "stage"), ("tier_history", "changed_on", "tier")]


def upgrade() -> None:
    from data_access import stage_rollup

    op.add_column("lifecycle_events", sa.Column("ended_on", sa.Date(), nullable=True))
    op.add_column("tier_history", sa.Column("ended_on", sa.Date(), nullable=True))
    stage_rollup.close_spells(op.get_bind())
    _month_cover(["month", "account_id", "revenue", "products_held"])
    for table, day, state in SPELLS:
        op.drop_index(f"ix_{table}_account_date", table_name=table)
        op.create_index(f"ix_{table}_account_spell", table, ["account_id", day, "ended_on", state])


def _month_cover(columns: list[str]) -> None:
    op.drop_index("ix_account_monthly_month_cover", table_name="account_monthly")
    op.create_index("ix_account_monthly_month_cover", "account_monthly", columns)


def downgrade() -> None:
    _month_cover(["month", "account_id", "revenue"])
    for table, day, _state in SPELLS:
        op.drop_index(f"ix_{table}_account_spell", table_name=table)
        op.create_index(f"ix_{table}_account_date", table, ["account_id", day])
    with op.batch_alter_table("tier_history") as batch:
        batch.drop_column("ended_on")
    with op.batch_alter_table("lifecycle_events") as batch:
        batch.drop_column("ended_on")
