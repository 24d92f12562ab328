"""Create and fill a database with the demo portfolio."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select

from data_access import demo, migrate, refresh, segments, stage_rollup
from data_access.bulk import load_tables
from data_access.schema import Account, AppSetting, Base
from data_access.versioning import bump_data_version

Progress = Callable[[str, float], None]


class DatabaseNotEmpty(RuntimeError):
    """Refused to overwrite a database that already holds accounts."""


def has_accounts(conn: Connection) -> bool:
    """Whether the (migrated) database holds any account."""
    return conn.execute(select(Account.id).limit(1)).first() is not None


def clear_data(conn: Connection) -> None:
    """Delete every row of every Strata table, children first."""
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == "accounts":
            conn.execute(table.update().values(parent_id=None))
        conn.execute(delete(table))


def set_setting(conn: Connection, key: str, value: str) -> None:
    """Insert or replace one application setting."""
    conn.execute(delete(AppSetting).where(AppSetting.key == key))
    conn.execute(insert(AppSetting).values(key=key, value=value))


def ensure_session_secret(conn: Connection) -> None:
    """Create the key that signs login cookies, once per database."""
    exists = conn.execute(select(AppSetting.key).where(AppSetting.key == "session_secret")).first()
    if exists is None:
        set_setting(conn, "session_secret", secrets.token_hex(32))


def build_demo_database(
    engine: Engine,
    spec: demo.DemoSpec,
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Migrate the database, fill it with the demo portfolio and score it.

    Raises
    ------
    DatabaseNotEmpty
        If accounts exist and ``replace`` is false; nothing is written then.
    """
    say = progress or (lambda _m, _f: None)
    say("Migrating schema", 0.0)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        if has_accounts(conn) and not replace:
            raise DatabaseNotEmpty(
                "The database already holds accounts; pass --replace to overwrite them."
            )
    frames = demo.generate(spec, progress=say)
    written = write_demo_frames(engine, spec, frames, progress=lambda m, f: say(m, 0.5 + 0.35 * f))
    refresh.run_refresh(engine, progress=lambda m, f: say(m, 0.85 + 0.15 * f))
    return written


def write_demo_frames(
    engine: Engine,
    spec: demo.DemoSpec,
    frames: dict[str, pd.DataFrame],
    *,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace the (migrated) database's data with generated ``frames`` in one transaction.

    No snapshots are scored: run the refresh job afterwards.
    """
    say = progress or (lambda _m, _f: None)
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    total = sum(len(f) for f in frames.values())
    done = 0

    def on_table(name: str, rows: int) -> None:
        nonlocal done
        done += rows
        say(f"Wrote {rows:,} rows to {name}", done / max(total, 1))

    with engine.begin() as conn:
        clear_data(conn)
        written = load_tables(conn, tables, frames, on_table)
        segments.rebuild(conn)
        stage_rollup.rebuild(conn)
        set_setting(conn, "demo", "true")
        set_setting(conn, "demo_seed", str(spec.seed))
        set_setting(conn, "demo_end_month", spec.resolved_end_month().isoformat())
        set_setting(conn, "created_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        ensure_session_secret(conn)
        bump_data_version(conn)
    return written
