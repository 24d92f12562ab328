"""The latest score snapshot read from one index

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:00:00

The growth page counts, sums and ranks the latest next-best-product scores of every
account in view in the database. The index by snapshot and rank sent each of those
reads to the table row by row (290,000 rows at 104,000 accounts); an index by snapshot
and account that also holds rank, product, expected revenue and propensity answers them
from the index alone, in account order, so per-account sums need no sort.
"""

from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_product_scores_as_of_rank", table_name="product_scores")
    op.create_index(
        "ix_product_scores_as_of_cover",
        "product_scores",
        ["as_of", "account_id", "rank", "product_id", "expected_revenue", "propensity"],
    )


def downgrade() -> None:
    op.drop_index("ix_product_scores_as_of_cover", table_name="product_scores")
    op.create_index("ix_product_scores_as_of_rank", "product_scores", ["as_of", "rank"])
