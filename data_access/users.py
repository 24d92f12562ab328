"""User administration (admins only): create, change role and team, deactivate, reset passwords.

Every change is audited (never with a password or its hash). Changing a user's role or
team, deactivating them or resetting their password ends their open sessions, so the new
rights apply at their next sign-in rather than whenever their browser tab happens to reload.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from data_access.auth import NO_PASSWORD, hash_password
from data_access.schema import ROLES, Team, User, UserSession
from data_access.scope import Scope
from data_access.versioning import bump_data_version, record_audit
from data_access.writes import NotPermitted, ValidationError

USERNAME = re.compile(r"[A-Za-z0-9._-]{2,64}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class UserInput:
    """What an admin sets on a user."""

    display_name: str
    role: str
    team_id: int | None
    locale: str = "zh"
    active: bool = True
    email: str | None = None  # single sign-on identity


def _admin(scope: Scope) -> None:
    if scope.role != "admin":
        raise NotPermitted("only admins manage users")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def fetch_users(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Every user with team code, role and whether they can sign in (admins only)."""
    _admin(scope)
    rows = conn.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.role,
            User.team_id,
            Team.code.label("team"),
            User.locale,
            User.active,
            User.created_at,
            User.email,
            (User.password_hash != NO_PASSWORD).label("has_password"),
        )
        .outerjoin(Team, Team.id == User.team_id)
        .order_by(User.username)
    ).all()
    return pd.DataFrame(rows, columns=list(rows[0]._fields) if rows else None)


def fetch_teams(conn: Connection) -> list[dict]:
    """Every team: id, code and names."""
    rows = conn.execute(select(Team.id, Team.code, Team.name_en, Team.name_zh).order_by(Team.code))
    return [dict(r._mapping) for r in rows]


def password_problems(password: str) -> list[tuple[str, str]]:
    """Why a new password is not acceptable (empty list when it is)."""
    if len(password) < MIN_PASSWORD:
        return [("password", "password_short")]
    if password.strip() != password or len(set(password)) < 4:
        return [("password", "password_weak")]
    return []


def _email(data: UserInput) -> str | None:
    return data.email.strip().lower() if data.email and data.email.strip() else None


def _problems(
    conn: Connection, data: UserInput, user_id: int | None = None
) -> list[tuple[str, str]]:
    problems = []
    email = _email(data)
    if email is not None:
        if not EMAIL.fullmatch(email) or len(email) > 254:
            problems.append(("email", "email_format"))
        else:
            taken = conn.execute(select(User.id).where(User.email == email)).scalar_one_or_none()
            if taken is not None and taken != user_id:
                problems.append(("email", "email_taken"))
    if not data.display_name.strip():
        problems.append(("display_name", "required"))
    elif len(data.display_name) > 120:
        problems.append(("display_name", "too_long_120"))
    if data.role not in ROLES:
        problems.append(("role", "invalid_choice"))
    if data.locale not in ("zh", "en"):
        problems.append(("locale", "invalid_choice"))
    if (
        data.team_id is not None
        and conn.execute(select(Team.id).where(Team.id == data.team_id)).first() is None
    ):
        problems.append(("team_id", "invalid_choice"))
    if data.role == "account_manager" and data.team_id is None:
        problems.append(("team_id", "manager_needs_team"))
    return problems


def create_user(
    conn: Connection, scope: Scope, username: str, data: UserInput, password: str
) -> int:
    """Create a user who can sign in with ``password``; returns the new id."""
    _admin(scope)
    problems = _problems(conn, data)
    if not USERNAME.fullmatch(username):
        problems.append(("username", "username_format"))
    elif conn.execute(select(User.id).where(User.username == username)).first() is not None:
        problems.append(("username", "username_taken"))
    problems += password_problems(password)
    if problems:
        raise ValidationError(problems)
    values = {"username": username, **_values(data)}
    new_id = conn.execute(
        insert(User)
        .values(**values, password_hash=hash_password(password), created_at=_now())
        .returning(User.id)
    ).scalar_one()
    record_audit(
        conn, user_id=scope.user_id, action="create", entity="user", entity_id=new_id, after=values
    )
    bump_data_version(conn)
    return new_id


def _values(data: UserInput) -> dict:
    """The users-table columns an admin sets, as stored."""
    return {
        "display_name": data.display_name.strip(),
        "role": data.role,
        "team_id": data.team_id,
        "locale": data.locale,
        "active": data.active,
        "email": _email(data),
    }


def _end_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def update_user(conn: Connection, scope: Scope, user_id: int, data: UserInput) -> bool:
    """Change a user's name, role, team, language or active flag; True if anything changed.

    An admin cannot take away their own admin role or deactivate themselves (someone must
    remain able to administer the system).
    """
    _admin(scope)
    row = conn.execute(select(User.__table__).where(User.id == user_id)).one_or_none()
    if row is None:
        raise ValidationError([("user", "not_found")])
    problems = _problems(conn, data, user_id)
    if user_id == scope.user_id and (data.role != "admin" or not data.active):
        problems.append(("role", "own_admin"))
    if problems:
        raise ValidationError(problems)
    after = _values(data)
    before = {k: getattr(row, k) for k in after}
    if before == after:
        return False
    conn.execute(update(User).where(User.id == user_id).values(**after))
    if (before["role"], before["team_id"], before["active"]) != (
        after["role"],
        after["team_id"],
        after["active"],
    ):
        _end_sessions(conn, user_id)
    changed = [k for k in after if before[k] != after[k]]
    record_audit(
        conn,
        user_id=scope.user_id,
        action="update",
        entity="user",
        entity_id=user_id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    bump_data_version(conn)
    return True


def reset_password(conn: Connection, scope: Scope, user_id: int, password: str) -> None:
    """Set a new password and end the user's sessions; the audit row records only the fact."""
    _admin(scope)
    problems = password_problems(password)
    if problems:
        raise ValidationError(problems)
    updated = conn.execute(
        update(User).where(User.id == user_id).values(password_hash=hash_password(password))
    )
    if updated.rowcount == 0:
        raise ValidationError([("user", "not_found")])
    _end_sessions(conn, user_id)
    record_audit(
        conn,
        user_id=scope.user_id,
        action="reset_password",
        entity="user",
        entity_id=user_id,
        after={"password": "changed"},
    )
