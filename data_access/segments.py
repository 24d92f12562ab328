"""Monthly revenue and survey answers per segment (the ``segment_monthly`` table).

A segment is one combination of team, tier, region and industry: the dimensions the
portfolio filters and an account manager's scope select on. Totals per month for any
filter are sums over a few thousand segment rows. Whatever changes the monthly rollup,
survey answers or an account's dimensions rebuilds the months it touched.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    select,
    true,
)

from analytics.periods import month_end
from data_access.schema import Account, AccountMonthly, SegmentMonthly, SurveyResponse
from data_access.scope import Filters, Scope
from data_access.sqlfuncs import month_of

DIMS = ("team_id", "tier", "region", "industry")
COLUMNS = [
    "month",
    "source",
    *DIMS,
    "revenue",
    "responses",
    "promoters",
    "detractors",
    "score_sum",
    "score_sq_sum",
]
SURVEYS = ("nps", "csat", "ces")
SOURCES = ("revenue", *SURVEYS)
# Lowest favourable and highest unfavourable score per survey (NPS promoters 9–10 and
# detractors 0–6; CSAT satisfied 4–5); CES is summarised by its mean alone.
FAVOURABLE = {"nps": 9, "csat": 4}
UNFAVOURABLE = {"nps": 6}


def _between(column: ColumnElement, first: dt.date | None, last: dt.date | None) -> list:
    out = []
    if first is not None:
        out.append(column >= first)
    if last is not None:
        out.append(column <= last)
    return out


def rebuild(
    conn: Connection,
    first: dt.date | None = None,
    last: dt.date | None = None,
    sources: tuple[str, ...] = SOURCES,
) -> None:
    """Recompute the segment rows of months ``first`` to ``last`` (default all) for
    ``sources``, inside the caller's transaction."""
    dims = [getattr(Account, d) for d in DIMS]
    for source in sources:
        conn.execute(
            delete(SegmentMonthly).where(
                SegmentMonthly.source == source, *_between(SegmentMonthly.month, first, last)
            )
        )
        if source == "revenue":
            month = AccountMonthly.month
            rows = (
                select(
                    month,
                    literal("revenue"),
                    *dims,
                    func.sum(AccountMonthly.revenue),
                    literal(0),
                    literal(0),
                    literal(0),
                    literal(0.0),
                    literal(0.0),
                )
                .join(Account, Account.id == AccountMonthly.account_id)
                .where(*_between(month, first, last))
            )
        else:
            month = month_of(SurveyResponse.responded_on)
            score = SurveyResponse.score
            top, low = FAVOURABLE.get(source), UNFAVOURABLE.get(source)
            rows = (
                select(
                    month,
                    literal(source),
                    *dims,
                    literal(0.0),
                    func.count(),
                    func.sum(case((score >= top, 1), else_=0)) if top else literal(0),
                    func.sum(case((score <= low, 1), else_=0)) if low else literal(0),
                    func.sum(1.0 * score),
                    func.sum(1.0 * score * score),
                )
                .join(Account, Account.id == SurveyResponse.account_id)
                .where(
                    SurveyResponse.survey == source,
                    *_between(SurveyResponse.responded_on, first, last and month_end(last)),
                )
            )
        conn.execute(insert(SegmentMonthly).from_select(COLUMNS, rows.group_by(month, *dims)))


def where(
    scope: Scope, filters: Filters | None = None, table=SegmentMonthly
) -> list[ColumnElement[bool]]:
    """The viewer's scope and the dimension filters as conditions on the segment rows
    of ``table`` (any table with the segment dimensions as columns)."""
    s = table
    clauses: list[ColumnElement[bool]] = []
    if scope.is_team_bound:
        clauses.append(false() if scope.team_id is None else s.team_id == scope.team_id)
    if filters is not None:
        for values, column in (
            (filters.regions, s.region),
            (filters.industries, s.industry),
            (filters.tiers, s.tier),
            (filters.team_ids, s.team_id),
        ):
            if values:
                clauses.append(column.in_(values))
    return clauses or [true()]


def months_with_revenue(conn: Connection, scope: Scope) -> tuple[dt.date | None, dt.date | None]:
    """First and last month with revenue among the viewer's accounts."""
    row = conn.execute(
        select(func.min(SegmentMonthly.month), func.max(SegmentMonthly.month)).where(
            and_(SegmentMonthly.source == "revenue", *where(scope))
        )
    ).one()
    return row[0], row[1]
