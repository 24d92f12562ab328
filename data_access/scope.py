"""Who is asking and what they filtered: the first arguments of every read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, true

from data_access.schema import Account


@dataclass(frozen=True)
class Scope:
    """The accounts a viewer may see: all of them, or one team's.

    Executives and admins read the whole portfolio; an account manager reads only
    the accounts of their team (none at all without a team).
    """

    user_id: int
    role: str
    team_id: int | None = None
    # The signed-in session this scope was built for. On PostgreSQL with row-level
    # security, each transaction names it so the database applies the same scope.
    session_id: str | None = field(default=None, repr=False)

    @property
    def is_team_bound(self) -> bool:
        return self.role == "account_manager"

    @property
    def can_write_accounts(self) -> bool:
        return self.role in ("account_manager", "admin")


@dataclass(frozen=True)
class Filters:
    """Portfolio filters shared by all pages; empty tuples mean "all"."""

    period_end: dt.date
    regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    team_ids: tuple[int, ...] = ()

    @property
    def period_month(self) -> dt.date:
        """First day of the period's last month."""
        return self.period_end.replace(day=1)


def scope_clause(scope: Scope) -> ColumnElement[bool]:
    """SQL condition on ``accounts`` for what ``scope`` may see."""
    if not scope.is_team_bound:
        return true()
    if scope.team_id is None:
        return false()
    return Account.team_id == scope.team_id


def filter_clauses(filters: Filters) -> list[ColumnElement[bool]]:
    """SQL conditions on ``accounts`` for the dimension filters."""
    clauses: list[ColumnElement[bool]] = []
    if filters.regions:
        clauses.append(Account.region.in_(filters.regions))
    if filters.industries:
        clauses.append(Account.industry.in_(filters.industries))
    if filters.tiers:
        clauses.append(Account.tier.in_(filters.tiers))
    if filters.team_ids:
        clauses.append(Account.team_id.in_(filters.team_ids))
    return clauses
