"""Shared fixtures: one seeded demo portfolio, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from data_access.demo import DemoSpec
from data_access.engine import create_engine_for
from data_access.seed import build_demo_database

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_SPEC = DemoSpec(n_accounts=400, seed=7, end_month=dt.date(2026, 6, 1))
PG_ADMIN_URL = os.environ.get(
    "STRATA_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_or_skip(reason: str) -> None:
    """Fail in CI (where the service is required), skip with a message elsewhere."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_fixture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded fixture portfolio as a SQLite file, built once per test run."""
    path = tmp_path_factory.mktemp("fixture") / "strata.db"
    engine = create_engine_for(make_url(f"sqlite:///{path}"))
    build_demo_database(engine, FIXTURE_SPEC)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(sqlite_fixture_file: Path, tmp_path: Path) -> URL:
    """A private copy of the fixture database, so a test may write to it."""
    copy = tmp_path / "strata.db"
    shutil.copy(sqlite_fixture_file, copy)
    return make_url(f"sqlite:///{copy}")


def _pg_admin() -> Engine:
    admin = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        require_or_skip(f"no PostgreSQL server at {PG_ADMIN_URL}: {exc.orig}")
    return admin


def fresh_pg_database(name: str) -> URL:
    """Drop and create database ``name`` on the test server; return its URL."""
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name)


@pytest.fixture(scope="session")
def pg_fixture_url() -> Iterator[URL]:
    """The seeded fixture portfolio in a fresh PostgreSQL database."""
    url = fresh_pg_database(f"strata_test_{os.getpid()}")
    engine = create_engine_for(url)
    build_demo_database(engine, FIXTURE_SPEC)
    engine.dispose()
    yield url
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fixture_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The fixture portfolio on each supported database (read-only use)."""
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{request.getfixturevalue('sqlite_fixture_file')}")
    else:
        url = request.getfixturevalue("pg_fixture_url")
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The fixture portfolio to write to: a private SQLite copy, or the PostgreSQL database."""
    url: URL = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_fixture_url"
    )
    eng = create_engine_for(url)
    yield eng
    eng.dispose()


def scalar(url: URL, sql: str, **params: object) -> object:
    """The first value of one query against the database at ``url`` (own engine)."""
    engine = create_engine_for(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def fetch_all(url: URL, sql: str, **params: object) -> list[tuple]:
    """All rows of one query against the database at ``url`` (own engine)."""
    engine = create_engine_for(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), params)]
    engine.dispose()
    return rows


def move_one_account_tier(engine: Engine) -> int:
    """Suggest another tier for one active account, as the refresh job would, and apply
    the suggestions as an admin does; returns how many accounts moved."""
    from data_access.scope import Scope
    from data_access.settings import apply_suggested_tiers

    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT s.id, a.tier FROM account_scores s JOIN accounts a ON a.id = s.account_id "
                "WHERE a.status = 'active' AND s.as_of = (SELECT max(as_of) FROM account_scores) "
                "ORDER BY s.id LIMIT 1"
            )
        ).one()
        target = "basic" if row.tier != "basic" else "strategic"
        conn.execute(
            text("UPDATE account_scores SET suggested_tier = :t, tier_score = 1 WHERE id = :i"),
            {"t": target, "i": row.id},
        )
        return apply_suggested_tiers(conn, Scope(user_id=3, role="admin"))


def move_four_accounts_segment(engine: Engine) -> int:
    """Import the first four accounts again with another industry, region, segment, team
    and tier, as an admin does; returns how many accounts the import updated."""
    import pandas as pd

    from data_access import importing
    from data_access.scope import Scope

    with engine.connect() as conn:
        moved = pd.read_sql(text("SELECT code, name FROM accounts ORDER BY id LIMIT 4"), conn)
    moved = moved.assign(
        industry="制造业", region="west", segment="mid", team="EAST-1", tier="战略客群"
    )
    moved["onboarded_on"] = "2020-01-01"
    checked, result = importing.run_import(
        engine,
        Scope(user_id=3, role="admin"),
        "accounts",
        moved.to_csv(index=False).encode(),
        "acc.csv",
    )
    assert checked.ok, checked.problems[:3]
    return result.updated


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def table_checksums(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and a SHA-256 of every row, in primary-key order, for each table."""
    import hashlib

    from sqlalchemy import select

    from data_access.schema import Base

    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            digest = hashlib.sha256()
            count = 0
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
                count += 1
            out[table.name] = (count, digest.hexdigest())
    return out


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def own_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A small portfolio of the test module's own, to write to freely (imports, load)."""
    spec = DemoSpec(n_accounts=120, seed=11, end_month=dt.date(2026, 6, 1))
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{tmp_path_factory.mktemp('imports') / 'strata.db'}")
    else:
        url = fresh_pg_database(f"strata_import_{os.getpid()}")
    engine = create_engine_for(url)
    build_demo_database(engine, spec)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()


def app_role_url(owner_url: URL) -> URL:
    """A login role that does not own the tables, granted on ``owner_url`` like the app's.

    Row-level security applies to it (the test server's ``postgres`` is a superuser and
    bypasses it). Roles are cluster-wide: the role is made once and kept, with no rights
    of its own beyond the databases it is granted on.
    """
    from sqlalchemy.exc import DBAPIError

    from data_access.row_security import grant_app_role

    role = "strata_app_test"
    admin = _pg_admin()
    # The role may exist from an earlier run, or the other test worker just made it.
    with admin.connect() as conn, contextlib.suppress(DBAPIError):
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    admin.dispose()
    owner = create_engine_for(owner_url)
    with owner.begin() as conn:
        grant_app_role(conn, role)
    owner.dispose()
    return owner_url.set(username=role)
