"""Where the database is: one URL from the environment or ``.streamlit/secrets.toml``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "data" / "strata.db"
ENV_VAR = "STRATA_DATABASE_URL"
OWNER_ENV_VAR = "STRATA_OWNER_DATABASE_URL"


class ConfigError(ValueError):
    """The database setting cannot be used; the message is one sentence for a human."""


def _secrets_url(secrets_path: Path, key: str = "url") -> str | None:
    if not secrets_path.is_file():
        return None
    try:
        secrets = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{secrets_path.name} is not valid TOML: {exc}") from exc
    url = secrets.get("connections", {}).get("strata", {}).get(key)
    return str(url) if url else None


def database_url(environ: dict[str, str] | None = None, secrets_path: Path | None = None) -> URL:
    """Return the configured database URL.

    Parameters
    ----------
    environ : dict, optional
        Environment to read ``STRATA_DATABASE_URL`` from; ``os.environ`` by default.
    secrets_path : Path, optional
        The secrets file with ``[connections.strata] url``; ``.streamlit/secrets.toml``
        of the project by default.

    Returns
    -------
    URL
        The environment wins over the secrets file; without either, the embedded
        SQLite file ``data/strata.db``.

    Raises
    ------
    ConfigError
        If the URL cannot be parsed or names a database Strata does not support.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR) or _secrets_url(secrets_path or ROOT / ".streamlit" / "secrets.toml")
    if not raw:
        return make_url(f"sqlite:///{DEFAULT_SQLITE_PATH}")
    return _parse(raw, ENV_VAR)


def owner_database_url(
    environ: dict[str, str] | None = None, secrets_path: Path | None = None
) -> URL:
    """The URL of the role that owns the tables, for migrations and maintenance commands.

    ``STRATA_OWNER_DATABASE_URL`` or ``[connections.strata] owner_url``; without either,
    the app's own URL (then the app owns the tables and row-level security does not
    apply to it).
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(OWNER_ENV_VAR) or _secrets_url(
        secrets_path or ROOT / ".streamlit" / "secrets.toml", "owner_url"
    )
    if not raw:
        return database_url(environ, secrets_path)
    return _parse(raw, OWNER_ENV_VAR)


def _parse(raw: str, source: str) -> URL:
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise ConfigError(
            f"The database URL in {source} could not be parsed "
            "(expected e.g. postgresql+psycopg://user@host:5432/dbname)."
        ) from exc
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"Strata supports SQLite and PostgreSQL; the configured URL names '{backend}'."
        )
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url
