"""index on accounts.parent_id

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:30:00

Account groups point at their parent account. Without an index, SQLite checks the
self-referencing foreign key by scanning the whole table for every account inserted
or deleted while checks are deferred, which made loading 20,000 accounts take about
a minute and 100,000 accounts about half an hour.
"""

from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_parent_id", "accounts", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_accounts_parent_id", table_name="accounts")
