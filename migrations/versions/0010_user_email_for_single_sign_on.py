"""user e-mail for single sign-on

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 14:57:00.954888
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN and CREATE INDEX: a batch rebuild of "users" would fail
    # on a filled SQLite database, where other tables' foreign keys point at it.
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_index("uq_users_email", "users", ["email"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email", table_name="users")
    op.drop_column("users", "email")
