"""Local users: password check, signed expiring login cookies, logout, preferences."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, select, update

from data_access.schema import AppSetting, LoginFailure, User, UserSession
from data_access.versioning import record_audit

SESSION_DAYS = 7
# The hash of a user who has no password yet (imported): no password matches it.
NO_PASSWORD = "!"  # noqa: S105 - a marker, not a secret
# Failed sign-ins for one user name within the window before each further attempt must
# wait: 30 s after the 5th failure, doubling up to 15 minutes.
FREE_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
FIRST_DELAY = 30
MAX_DELAY = 900
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps timing alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class LoginThrottled(RuntimeError):
    """Too many failed sign-ins for this user name; try again after ``wait_seconds``."""

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"try again in {wait_seconds} s")
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class UserInfo:
    """The logged-in user as pages see it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    locale: str


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def user_info(row) -> UserInfo:
    """The user as pages see it, from a row of the users table."""
    return UserInfo(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        team_id=row.team_id,
        locale=row.locale,
    )


def _login_key(username: str) -> str:
    return username.strip().lower()[:64]


def login_wait(conn: Connection, username: str, now: dt.datetime | None = None) -> int:
    """Seconds this user name must wait before the next sign-in attempt (0: none)."""
    now = now or _now()
    key = _login_key(username)
    count, last = conn.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.username == key, LoginFailure.at > now - FAILURE_WINDOW
        )
    ).one()
    if count < FREE_FAILURES or last is None:
        return 0
    delay = min(FIRST_DELAY * 2 ** (count - FREE_FAILURES), MAX_DELAY)
    return max(0, int((last + dt.timedelta(seconds=delay) - now).total_seconds() + 0.999))


def verify_login(conn: Connection, username: str, password: str) -> UserInfo | None:
    """The active user with this username and password, or None.

    The answer does not say which of the two was wrong, and takes about as long
    for an unknown user as for a wrong password. Failures are counted per user name
    (known or not); after five within 15 minutes, attempts are refused without checking
    the password until a growing delay has passed (:class:`LoginThrottled`).
    """
    wait = login_wait(conn, username)
    if wait:
        raise LoginThrottled(wait)
    row = conn.execute(
        select(User.__table__).where(User.username == username.strip(), User.active.is_(True))
    ).one_or_none()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        conn.execute(insert(LoginFailure).values(username=_login_key(username), at=_now()))
        return None
    if row is None:
        return None
    conn.execute(delete(LoginFailure).where(LoginFailure.username == _login_key(username)))
    return user_info(row)


def fetch_user(conn: Connection, user_id: int) -> UserInfo | None:
    """The active user with this id, or None."""
    row = conn.execute(
        select(User.__table__).where(User.id == user_id, User.active.is_(True))
    ).one_or_none()
    return user_info(row) if row else None


def _secret(conn: Connection) -> bytes:
    configured = os.environ.get("STRATA_SECRET_KEY")
    if configured:
        return configured.encode()
    value = conn.execute(
        select(AppSetting.value).where(AppSetting.key == "session_secret")
    ).scalar_one_or_none()
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(insert(AppSetting).values(key="session_secret", value=value))
    return value.encode()


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:40]


def session_key(session_id: str) -> str:
    """What the database stores for a session id: its SHA-256 (hex).

    The id itself lives only in the browser's cookie, so reading the sessions table
    gives nobody a session to act in (row-level security relies on it).
    """
    return hashlib.sha256(session_id.encode()).hexdigest()


def create_session(conn: Connection, user: UserInfo, days: int = SESSION_DAYS) -> tuple[str, int]:
    """Record a login and return the signed cookie value and its lifetime in seconds.

    The cookie holds a random session id and its expiry, signed with the
    database's secret; never the password. The database keeps only the id's hash.
    """
    session_id = secrets.token_urlsafe(24)
    now = _now()
    expires = now + dt.timedelta(days=days)
    conn.execute(
        insert(UserSession).values(
            id=session_key(session_id), user_id=user.id, created_at=now, expires_at=expires
        )
    )
    record_audit(conn, user_id=user.id, action="login", entity="user", entity_id=user.id)
    payload = f"{session_id}.{int(expires.timestamp())}"
    return f"{payload}.{_sign(_secret(conn), payload)}", days * 86400


def resolve_session(conn: Connection, cookie: str | None) -> tuple[UserInfo, str] | None:
    """The user and session id behind a cookie, if genuine, unexpired and not revoked."""
    if not cookie or cookie.count(".") != 2:
        return None
    session_id, expires_ts, signature = cookie.split(".")
    expected = _sign(_secret(conn), f"{session_id}.{expires_ts}")
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        if int(expires_ts) < _now().timestamp():
            return None
    except ValueError:
        return None
    row = conn.execute(
        select(UserSession.user_id).where(
            UserSession.id == session_key(session_id),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > _now(),
        )
    ).one_or_none()
    if row is None:
        return None
    user = fetch_user(conn, row.user_id)
    return (user, session_id) if user else None


def session_is_live(conn: Connection, session_id: str) -> bool:
    """Whether a session has neither expired nor been logged out."""
    return (
        conn.execute(
            select(UserSession.id).where(
                UserSession.id == session_key(session_id),
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > _now(),
            )
        ).first()
        is not None
    )


def revoke_session(conn: Connection, session_id: str, user_id: int) -> None:
    """End a session (logout); its cookie stops working everywhere."""
    conn.execute(
        update(UserSession)
        .where(UserSession.id == session_key(session_id), UserSession.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    record_audit(conn, user_id=user_id, action="logout", entity="user", entity_id=user_id)


def record_locale(conn: Connection, user_id: int, locale: str) -> None:
    """Remember a user's interface language."""
    before = conn.execute(select(User.locale).where(User.id == user_id)).scalar_one_or_none()
    if before == locale:
        return
    conn.execute(update(User).where(User.id == user_id).values(locale=locale))
    record_audit(
        conn,
        user_id=user_id,
        action="update",
        entity="user",
        entity_id=user_id,
        before={"locale": before},
        after={"locale": locale},
    )


def is_demo_database(conn: Connection) -> bool:
    """Whether the database was filled by the demo generator."""
    value = conn.execute(
        select(AppSetting.value).where(AppSetting.key == "demo")
    ).scalar_one_or_none()
    return value == "true"
