"""Unit: Alembic migrations build exactly the schema of data_access.schema, on both databases."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
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
