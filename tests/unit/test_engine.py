"""Unit: data_access.engine and the command line — failures are one sentence, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from data_access.engine import DatabaseUnavailable, check_connection, create_engine_for

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(make_url(f"sqlite:///{tmp_path / 'x.db'}"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_connections_do_not_jit_compile(pg_fixture_url) -> None:
    engine = create_engine_for(pg_fixture_url)
    with engine.connect() as first, engine.connect() as second:
        first.rollback()  # a transaction ended without commit keeps the setting
        assert first.execute(text("SHOW jit")).scalar() == "off"
        assert second.execute(text("SHOW jit")).scalar() == "off"
    engine.dispose()


def test_unreachable_server_raises_one_sentence_without_password() -> None:
    engine = create_engine_for(make_url("postgresql+psycopg://u:secret@127.0.0.1:1/strata"))
    with pytest.raises(DatabaseUnavailable) as info:
        check_connection(engine)
    message = str(info.value)
    assert message.startswith("Cannot reach the database at postgresql+psycopg://u:***@127.0.0.1:1")
    assert "secret" not in message
    assert "\n" not in message


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STRATA_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "data_access", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_reports_bad_url_in_one_line() -> None:
    result = _cli("migrate", url="nonsense://")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("strata: ")


def test_cli_reports_unreachable_server_in_one_line() -> None:
    result = _cli("migrate", url="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "Cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_ensure_demo_creates_then_reuses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = _cli("ensure-demo", "--accounts", "150", "--end-month", "2026-01-01", url=url)
    assert first.returncode == 0, first.stderr
    assert "Demo portfolio ready: 150 accounts" in first.stdout
    assert "%" in first.stdout  # progress is shown
    second = _cli("ensure-demo", url=url)
    assert second.returncode == 0, second.stderr
    assert "Using the existing database" in second.stdout


def test_cli_refuses_to_overwrite_without_replace(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _cli("demo-db", "--accounts", "120", url=url).returncode == 0
    again = _cli("demo-db", "--accounts", "120", url=url)
    assert again.returncode == 2
    assert "--replace" in again.stderr
