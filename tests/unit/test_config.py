"""Unit: data_access.config — where the database URL comes from."""

import tomllib
from pathlib import Path

import pytest

from data_access.config import (
    DEFAULT_SQLITE_PATH,
    ROOT,
    ConfigError,
    database_url,
    owner_database_url,
)
from data_access.import_files import MAX_BYTES


def test_default_is_embedded_sqlite_file(tmp_path: Path) -> None:
    url = database_url(environ={}, secrets_path=tmp_path / "missing.toml")
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(DEFAULT_SQLITE_PATH)


def test_secrets_file_names_the_database(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[connections.strata]\nurl = "postgresql://app@db:5432/strata"\n')
    url = database_url(environ={}, secrets_path=secrets)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "db"


def test_environment_wins_over_secrets(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[connections.strata]\nurl = "postgresql://app@db/strata"\n')
    url = database_url(environ={"STRATA_DATABASE_URL": "sqlite:////tmp/x.db"}, secrets_path=secrets)
    assert url.get_backend_name() == "sqlite"


def test_owner_url_for_maintenance_falls_back_to_the_apps(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[connections.strata]\nurl = "postgresql://app@db/strata"\n'
        'owner_url = "postgresql://owner@db/strata"\n'
    )
    assert owner_database_url(environ={}, secrets_path=secrets).username == "owner"
    assert database_url(environ={}, secrets_path=secrets).username == "app"
    env = {"STRATA_OWNER_DATABASE_URL": "postgresql://boss@db/strata"}
    assert owner_database_url(environ=env, secrets_path=secrets).username == "boss"
    only_app = tmp_path / "app.toml"
    only_app.write_text('[connections.strata]\nurl = "postgresql://app@db/strata"\n')
    assert owner_database_url(environ={}, secrets_path=only_app).username == "app"
    with pytest.raises(ConfigError, match="STRATA_OWNER_DATABASE_URL could not be parsed"):
        owner_database_url(environ={"STRATA_OWNER_DATABASE_URL": "nope"}, secrets_path=only_app)


def test_unparseable_url_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="could not be parsed"):
        database_url(environ={"STRATA_DATABASE_URL": "not a url"}, secrets_path=tmp_path / "x")


def test_unsupported_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="names 'mysql'"):
        database_url(environ={"STRATA_DATABASE_URL": "mysql://u@h/db"}, secrets_path=tmp_path / "x")


def test_broken_secrets_file_is_reported(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[connections.strata\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        database_url(environ={}, secrets_path=secrets)


def test_production_configuration_hides_errors_limits_uploads_and_checks_xsrf() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_BYTES
    assert config["server"]["address"] == "127.0.0.1"
