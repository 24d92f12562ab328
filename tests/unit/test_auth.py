"""Unit: data_access.auth — hashed passwords, signed expiring cookies, logout, preferences."""

import datetime as dt
import logging

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import URL

from data_access import auth, users
from data_access.engine import create_engine_for
from data_access.schema import AuditLog, LoginFailure, User, UserSession
from data_access.scope import Scope
from data_access.versioning import bump_data_version, fetch_data_version


def test_passwords_are_stored_as_argon2id(engine: Engine) -> None:
    with engine.connect() as conn:
        hashes = conn.execute(select(User.password_hash)).scalars().all()
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any("strata-demo" in h for h in hashes)


def test_right_password_logs_in(engine: Engine) -> None:
    with engine.begin() as conn:
        user = auth.verify_login(conn, "exec", "strata-demo")
    assert user is not None
    assert (user.username, user.role, user.team_id) == ("exec", "executive", None)


@pytest.mark.parametrize(("username", "password"), [("exec", "wrong"), ("nobody", "strata-demo")])
def test_wrong_username_or_password_is_refused(
    engine: Engine, username: str, password: str
) -> None:
    with engine.begin() as conn:
        assert auth.verify_login(conn, username, password) is None


def test_inactive_user_cannot_log_in(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "manager").values(active=False))
        assert auth.verify_login(conn, "manager", "strata-demo") is None
    engine.dispose()


def test_cookie_round_trip_and_logout(engine: Engine) -> None:
    with engine.begin() as conn:
        user = auth.verify_login(conn, "manager", "strata-demo")
        cookie, max_age = auth.create_session(conn, user)
    assert max_age == 7 * 86400
    assert "strata-demo" not in cookie
    with engine.begin() as conn:
        found = auth.resolve_session(conn, cookie)
    assert found is not None
    assert found[0].username == "manager"
    assert found[0].team_id == 1
    with engine.begin() as conn:
        auth.revoke_session(conn, found[1], user.id)
    with engine.begin() as conn:
        assert auth.resolve_session(conn, cookie) is None
        assert not auth.session_is_live(conn, found[1])


def test_tampered_cookie_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        user = auth.verify_login(conn, "exec", "strata-demo")
        cookie, _ = auth.create_session(conn, user)
    session_id, expires, signature = cookie.split(".")
    later = str(int(expires) + 10**6)
    with engine.begin() as conn:
        assert auth.resolve_session(conn, f"{session_id}.{later}.{signature}") is None
        assert auth.resolve_session(conn, f"{session_id}.{expires}.{'0' * 40}") is None
        assert auth.resolve_session(conn, "garbage") is None
        assert auth.resolve_session(conn, None) is None


def test_expired_session_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        user = auth.verify_login(conn, "exec", "strata-demo")
        cookie, _ = auth.create_session(conn, user)
        conn.execute(
            update(UserSession)
            .where(UserSession.id == auth.session_key(cookie.split(".")[0]))
            .values(expires_at=dt.datetime(2020, 1, 1))
        )
    with engine.begin() as conn:
        assert auth.resolve_session(conn, cookie) is None


def test_sessions_table_holds_no_session_id(engine: Engine) -> None:
    with engine.begin() as conn:
        user = auth.verify_login(conn, "exec", "strata-demo")
        cookie, _ = auth.create_session(conn, user)
        session_id = cookie.split(".")[0]
        stored = set(conn.execute(select(UserSession.id)).scalars())
        assert session_id not in stored
        assert auth.session_key(session_id) in stored
        assert auth.resolve_session(conn, cookie)[1] == session_id


def test_language_choice_is_remembered_and_audited(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.begin() as conn:
        auth.record_locale(conn, 4, "en")
    with engine.connect() as conn:
        assert auth.fetch_user(conn, 4).locale == "en"
        row = conn.execute(
            select(AuditLog.before, AuditLog.after).where(
                AuditLog.entity == "user", AuditLog.action == "update"
            )
        ).one()
    assert row.before == {"locale": "zh"}
    assert row.after == {"locale": "en"}
    engine.dispose()


def test_demo_database_is_marked(engine: Engine) -> None:
    with engine.connect() as conn:
        assert auth.is_demo_database(conn)


def test_data_version_only_goes_up(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.begin() as conn:
        before = fetch_data_version(conn)
        after = bump_data_version(conn)
    assert after == before + 1
    engine.dispose()


def test_repeated_failures_slow_sign_in_down(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    for _ in range(auth.FREE_FAILURES):
        with engine.begin() as conn:
            assert auth.verify_login(conn, "exec", "guess") is None
    with engine.begin() as conn, pytest.raises(auth.LoginThrottled) as exc:
        auth.verify_login(conn, "exec", "strata-demo")  # even the right password waits
    assert 25 <= exc.value.wait_seconds <= 30
    with engine.connect() as conn:
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=31)
        assert auth.login_wait(conn, "EXEC ", later) == 0  # same user name, case-folded
        assert auth.login_wait(conn, "manager") == 0  # other users are not affected
        conn.execute(update(LoginFailure).values(at=LoginFailure.at - dt.timedelta(seconds=31)))
        assert auth.verify_login(conn, "exec", "strata-demo") is not None
        assert conn.execute(select(func.count()).select_from(LoginFailure)).scalar() == 0
    engine.dispose()


def test_unknown_user_names_are_throttled_too(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    for _ in range(auth.FREE_FAILURES):
        with engine.begin() as conn:
            auth.verify_login(conn, "nobody", "guess")
    with engine.begin() as conn, pytest.raises(auth.LoginThrottled):
        auth.verify_login(conn, "nobody", "guess")
    engine.dispose()


def test_passwords_never_reach_the_logs(sqlite_url: URL, caplog: pytest.LogCaptureFixture) -> None:
    """Even with every SQL statement and its parameters logged, no password shows."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    engine = create_engine_for(sqlite_url)
    admin = Scope(3, "admin")
    with engine.begin() as conn:
        auth.verify_login(conn, "exec", "wrong-Secret-123")
        auth.verify_login(conn, "exec", "strata-demo")
        uid = users.create_user(
            conn, admin, "log.check", users.UserInput("Log", "executive", None), "first-Secret-456"
        )
        users.reset_password(conn, admin, uid, "second-Secret-789")
        audit = conn.execute(select(AuditLog.after).where(AuditLog.entity_id == str(uid))).all()
    engine.dispose()
    assert "INSERT INTO users" in caplog.text  # the statements were logged
    for secret in ("wrong-Secret-123", "strata-demo", "first-Secret-456", "second-Secret-789"):
        assert secret not in caplog.text
        assert secret not in str(audit)


def test_single_sign_on_maps_verified_emails_of_active_users_only(sqlite_url: URL) -> None:
    from data_access import sso

    engine = create_engine_for(sqlite_url)
    admin = Scope(3, "admin")
    with engine.begin() as conn:
        uid = conn.execute(select(User.id).where(User.username == "manager")).scalar()
        current = conn.execute(select(User.__table__).where(User.id == uid)).one()
        data = users.UserInput(
            current.display_name, current.role, current.team_id, "en", True, "Zhang.Min@Bank.CN "
        )
        users.update_user(conn, admin, uid, data)
        with pytest.raises(users.ValidationError):
            users.create_user(
                conn,
                admin,
                "twin",
                users.UserInput("Twin", "executive", None, email="zhang.min@bank.cn"),
                "long-enough-secret",
            )
    with engine.connect() as conn:
        assert (
            conn.execute(select(User.email).where(User.id == uid)).scalar() == "zhang.min@bank.cn"
        )
        user = sso.map_identity(conn, {"email": "ZHANG.MIN@bank.cn", "email_verified": True})
        assert (user.username, user.role, user.team_id) == ("manager", "account_manager", 1)
        assert (
            sso.map_identity(conn, {"email": "zhang.min@bank.cn", "email_verified": False}) is None
        )
        assert sso.map_identity(conn, {"email": "someone@bank.cn"}) is None
        assert sso.map_identity(conn, {"name": "No Email"}) is None
    with engine.begin() as conn:
        users.update_user(conn, admin, uid, data.__class__(**{**vars(data), "active": False}))
    with engine.connect() as conn:
        assert sso.map_identity(conn, {"email": "zhang.min@bank.cn"}) is None
    engine.dispose()
