"""Online backup and restore of the embedded SQLite database (the app may keep running).

Both use SQLite's backup API, which copies a consistent snapshot page by page while
other connections keep reading and writing. A restore first checks that the file is an
intact Strata database, copies it over the live one, upgrades its schema if it is older
and moves the data version past every value used before, so no cache serves pages of the
replaced data. (PostgreSQL deployments back up with ``pg_dump``/``pg_restore``.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from data_access import migrate
from data_access.versioning import bump_data_version, fetch_data_version


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message is one sentence."""


def _sqlite_path(url: URL) -> Path:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "Backup and restore work on the embedded SQLite database; "
            "back up PostgreSQL with pg_dump."
        )
    return Path(url.database)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # One step: a copy made in steps starts over whenever another connection writes, so
    # under a steady stream of writes it never finished. One step reads one snapshot,
    # and with write-ahead logging the app's writers go on meanwhile.
    source.backup(target, pages=-1)


def backup(url: URL, target: Path) -> int:
    """Write a consistent copy of the database at ``url`` to ``target``; returns its bytes."""
    live = _sqlite_path(url)
    if not live.exists():
        raise BackupError(f"There is no database at {live}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name.")
    with sqlite3.connect(live, timeout=30) as src, sqlite3.connect(target) as dst:
        _copy(src, dst)
    src.close()
    dst.close()
    return target.stat().st_size


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}.")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (integrity check failed).")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database.") from exc
    if not {"alembic_version", "accounts", "data_version"} <= tables:
        raise BackupError(f"{path} is not a Strata database.")


def restore(engine: Engine, source: Path) -> int:
    """Replace the live database's content with the backup at ``source``.

    Returns the new data version. The live file keeps its name, so the running app's
    connections see the restored data at their next transaction.
    """
    live = _sqlite_path(engine.url)
    _check_backup(source)
    with engine.connect() as conn:
        before = fetch_data_version(conn)
    with sqlite3.connect(source) as src, sqlite3.connect(live, timeout=30) as dst:
        _copy(src, dst)
    src.close()
    dst.close()
    migrate.upgrade(engine)
    with engine.begin() as conn:
        restored = fetch_data_version(conn)
        conn.execute(
            text("UPDATE data_version SET version = :v WHERE id = 1"), {"v": max(before, restored)}
        )
        return bump_data_version(conn)
