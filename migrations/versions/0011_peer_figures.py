"""portfolio-wide peer aggregates and tier rank in the snapshots

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 09:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peer_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("industry", sa.String(length=40), nullable=False),
        sa.Column("given", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_figures")),
        sa.UniqueConstraint(
            "as_of", "kind", "tier", "industry", "given", "product",
            name=op.f("uq_peer_figures_as_of"),
        ),
    )
    # Plain ADD COLUMN: a batch rebuild of account_scores is not needed for nullable columns.
    op.add_column("account_scores", sa.Column("tier_rank", sa.Integer(), nullable=True))
    op.add_column("account_scores", sa.Column("tier_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_scores") as batch:
        batch.drop_column("tier_size")
        batch.drop_column("tier_rank")
    op.drop_table("peer_figures")
