"""Survey answers of every kind per segment, with score sums; answers by account

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 20:00:00

The satisfaction page computed NPS, CSAT and CES figures, changes and drop scans from
every answer of 36 months (1.5 million at 104,000 accounts). All of them need only the
number of answers, the favourable and NPS-detractor counts, and the sum and sum of squares
of the scores per segment and month: the segment rollup now carries those for all three
surveys. An index on account, survey and date finds each account's latest answer by one
seek instead of ranking every answer.
"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from data_access import segments

    with op.batch_alter_table("segment_monthly") as batch:
        batch.add_column(sa.Column("score_sum", sa.Float(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("score_sq_sum", sa.Float(), server_default="0", nullable=False)
        )
    segments.rebuild(op.get_bind())
    op.create_index(
        "ix_survey_responses_account_survey_date",
        "survey_responses",
        ["account_id", "survey", "responded_on"],
    )


def downgrade() -> None:
    op.drop_index("ix_survey_responses_account_survey_date", table_name="survey_responses")
    op.execute("DELETE FROM segment_monthly WHERE source IN ('csat', 'ces')")
    with op.batch_alter_table("segment_monthly") as batch:
        batch.drop_column("score_sq_sum")
        batch.drop_column("score_sum")
