"""Unit: online backup and restore of the embedded database while writers keep writing."""

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, make_url

from data_access import __main__ as cli
from data_access import backup
from data_access.engine import create_engine_for
from data_access.schema import Interaction
from data_access.versioning import bump_data_version, fetch_data_version
from tests.conftest import table_checksums


def _write_interactions(url: URL, stop: threading.Event, written: list[int]) -> None:
    engine = create_engine_for(url)
    n = 0
    while not stop.is_set():
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO interactions (account_id, channel, occurred_on, subject,"
                    " sentiment) VALUES (1, 'phone', '2026-06-01', :s, 0)"
                ),
                {"s": f"during backup {n}"},
            )
            bump_data_version(conn)
        n += 1
    written.append(n)
    engine.dispose()


def test_backup_while_writing_then_restore_while_connected(sqlite_url: URL, tmp_path) -> None:
    app = create_engine_for(sqlite_url)
    stop, written = threading.Event(), []
    worker = threading.Thread(target=_write_interactions, args=(sqlite_url, stop, written))
    worker.start()
    target = tmp_path / "backup.db"
    try:
        size = backup.backup(sqlite_url, target)
    finally:
        stop.set()
        worker.join()
    assert written[0] > 0
    assert size > 1_000_000
    copy = create_engine_for(make_url(f"sqlite:///{target}"))
    with copy.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    saved = table_checksums(copy)
    copy.dispose()

    with app.connect() as conn:  # the app holds a pooled connection throughout
        version_before = fetch_data_version(conn)
        n_before = conn.execute(select(func.count()).select_from(Interaction)).scalar()
        conn.rollback()
        new_version = backup.restore(app, target)
        n_after = conn.execute(select(func.count()).select_from(Interaction)).scalar()
    assert new_version > version_before
    assert n_after == saved["interactions"][0] <= n_before
    restored = table_checksums(app)
    app.dispose()
    assert {k: v for k, v in restored.items() if k != "data_version"} == {
        k: v for k, v in saved.items() if k != "data_version"
    }


def test_restore_refuses_what_is_not_a_strata_backup(sqlite_url: URL, tmp_path) -> None:
    app = create_engine_for(sqlite_url)
    before = table_checksums(app)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(backup.BackupError, match="not a SQLite database"):
        backup.restore(app, junk)
    assert table_checksums(app) == before
    app.dispose()


def test_command_line_backup_and_restore(sqlite_url: URL, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STRATA_DATABASE_URL", sqlite_url.render_as_string(hide_password=False))
    target = tmp_path / "nightly.db"
    assert cli.main(["backup", str(target)]) == 0
    assert "Backed up" in capsys.readouterr().out
    assert cli.main(["backup", str(target)]) == 2  # never overwrites a backup
    assert cli.main(["restore", str(target)]) == 0
    assert "data version is now" in capsys.readouterr().out
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.backup(make_url("postgresql+psycopg://strata@db.internal/strata"), tmp_path / "x")
