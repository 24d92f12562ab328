"""Reading the audit trail (admins only): who changed what and when, with before and after."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select

from data_access.schema import AuditLog, User
from data_access.scope import Scope
from data_access.writes import NotPermitted

LIMIT = 1000


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit log viewer; empty tuples mean "all"."""

    start: dt.date
    end: dt.date
    users: tuple[int, ...] = ()
    entities: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    entity_id: str = ""
    limit: int = LIMIT


def _admin(scope: Scope) -> None:
    if scope.role != "admin":
        raise NotPermitted("only admins read the audit log")


def fetch_audit_facets(conn: Connection, scope: Scope) -> dict[str, list]:
    """The values the filters offer: users who acted, entities and actions seen."""
    _admin(scope)
    users = conn.execute(
        select(User.id, User.username)
        .where(User.id.in_(select(AuditLog.user_id).distinct()))
        .order_by(User.username)
    ).all()
    return {
        "users": [(r.id, r.username) for r in users],
        "entities": list(
            conn.execute(select(AuditLog.entity).distinct().order_by(AuditLog.entity)).scalars()
        ),
        "actions": list(
            conn.execute(select(AuditLog.action).distinct().order_by(AuditLog.action)).scalars()
        ),
    }


def fetch_audit(conn: Connection, scope: Scope, query: AuditQuery) -> tuple[pd.DataFrame, int]:
    """Matching audit rows, newest first (at most ``query.limit``), and how many match."""
    _admin(scope)
    start = dt.datetime.combine(query.start, dt.time(0))
    end = dt.datetime.combine(query.end + dt.timedelta(days=1), dt.time(0))
    where = [AuditLog.at >= start, AuditLog.at < end]
    if query.users:
        where.append(AuditLog.user_id.in_(query.users))
    if query.entities:
        where.append(AuditLog.entity.in_(query.entities))
    if query.actions:
        where.append(AuditLog.action.in_(query.actions))
    if query.entity_id.strip():
        where.append(AuditLog.entity_id == query.entity_id.strip())
    total = conn.execute(select(func.count()).select_from(AuditLog).where(*where)).scalar_one()
    rows = conn.execute(
        select(
            AuditLog.id,
            AuditLog.at,
            User.username,
            AuditLog.action,
            AuditLog.entity,
            AuditLog.entity_id,
            AuditLog.before,
            AuditLog.after,
        )
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(*where)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(query.limit)
    ).all()
    columns = ["id", "at", "username", "action", "entity", "entity_id", "before", "after"]
    return pd.DataFrame(rows, columns=columns), int(total)
