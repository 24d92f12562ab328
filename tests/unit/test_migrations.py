"""Unit: Alembic migrations build exactly the schema of data_access.schema, on both databases."""

import hashlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from data_access import migrate
from data_access.engine import create_engine_for
from data_access.schema import Base
from tests.conftest import fresh_pg_database


def _assert_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def _round_trip(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    _assert_matches_models(engine)
    migrate.downgrade(engine, "base")
    assert "accounts" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert migrate.is_current(engine)


def test_empty_sqlite_upgrades_to_head(tmp_path: Path) -> None:
    engine = create_engine_for(make_url(f"sqlite:///{tmp_path / 'm.db'}"))
    _round_trip(engine)
    engine.dispose()


@pytest.mark.postgres
def test_empty_postgresql_upgrades_to_head() -> None:
    engine = create_engine_for(fresh_pg_database("strata_test_migrations"))
    _round_trip(engine)
    engine.dispose()


def _content(engine: Engine, columns: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Row count and checksum of the given columns of each table (rows in a fixed order)."""
    out = {}
    with engine.connect() as conn:
        for table, cols in columns.items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            order = ", ".join(f'CAST("{c}" AS TEXT)' for c in cols)  # JSON has no ordering
            rows = conn.execute(text(f'SELECT {quoted} FROM "{table}" ORDER BY {order}')).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table] = (len(rows), digest)
    return out


def _columns(engine: Engine) -> dict[str, list[str]]:
    insp = inspect(engine)
    return {
        t: sorted(c["name"] for c in insp.get_columns(t))
        for t in insp.get_table_names()
        if t != "alembic_version"
    }


def _schema_at(revision: str, tmp_path: Path) -> dict[str, list[str]]:
    engine = create_engine_for(make_url(f"sqlite:///{tmp_path / f'at_{revision}.db'}"))
    migrate.upgrade(engine, revision)
    try:
        return _columns(engine)
    finally:
        engine.dispose()


def test_round_trips_on_a_filled_database_keep_the_data(own_engine: Engine, tmp_path) -> None:
    """Upgrade → downgrade → upgrade leaves every row of the older schema as it was.

    Undoing the newest migration and redoing it, and going back to the first schema and
    up again, drop only what the newer schemas added (their tables and columns come
    back empty, to be refilled by the refresh job); every column of the older schema
    keeps all its rows, byte for byte.
    """
    script = ScriptDirectory.from_config(migrate.alembic_config())
    previous = script.get_revision(script.get_current_head()).down_revision
    first, before_newest = _schema_at("0001", tmp_path), _schema_at(previous, tmp_path)
    migrate.upgrade(own_engine)
    before, before_old = _content(own_engine, before_newest), _content(own_engine, first)
    assert before["accounts"][0] == 120
    assert before["revenue_monthly"][0] > 1000
    migrate.downgrade(own_engine, "-1")
    migrate.upgrade(own_engine)
    assert _content(own_engine, before_newest) == before
    migrate.downgrade(own_engine, "0001")
    migrate.upgrade(own_engine)
    assert migrate.is_current(own_engine)
    assert _content(own_engine, first) == before_old
