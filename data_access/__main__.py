"""Command line: ``python -m data_access COMMAND`` (``--help`` lists the commands)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from data_access import backup, importing, migrate, refresh, row_security, seed
from data_access.config import ConfigError, database_url, owner_database_url
from data_access.demo import DemoSpec
from data_access.engine import (
    DatabaseUnavailable,
    check_connection,
    create_engine_for,
    describe_error,
)
from data_access.import_files import FileProblem, read_table
from data_access.import_specs import ENTITIES, auto_mapping, error_messages
from data_access.schema import User
from data_access.scope import Scope


def _progress(message: str, fraction: float) -> None:
    width = 30
    filled = round(width * max(0.0, min(1.0, fraction)))
    print(f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  {message}", flush=True)


def _spec(args: argparse.Namespace) -> DemoSpec:
    end = dt.date.fromisoformat(args.end_month) if args.end_month else None
    return DemoSpec(n_accounts=args.accounts, seed=args.seed, end_month=end)


def _import(engine: Engine, args: argparse.Namespace) -> int:
    """Run one import from the command line; exit code 1 when the file is rejected."""
    with engine.connect() as conn:
        admin = conn.execute(
            select(User.id).where(
                User.username == args.as_user, User.role == "admin", User.active.is_(True)
            )
        ).scalar_one_or_none()
        presets = importing.fetch_presets(conn).get(args.entity, {})
    if admin is None:
        print(f"strata: {args.as_user!r} is not an active admin user.", file=sys.stderr)
        return 2
    mapping = None
    if args.preset:
        if args.preset not in presets:
            print(f"strata: no preset {args.preset!r} for {args.entity}.", file=sys.stderr)
            return 2
        mapping = dict(presets[args.preset])
    if args.map:
        mapping = mapping or {}
        for item in args.map:
            name, _, column = item.partition("=")
            mapping[name.strip()] = column.strip()
    started = time.perf_counter()
    checked, result = importing.run_import(
        engine,
        Scope(admin, "admin"),
        args.entity,
        args.file.read_bytes(),
        args.file.name,
        mapping=_full_mapping(args.entity, mapping, args.file),
        dry_run=args.dry_run,
        progress=_progress,
    )
    if not checked.ok:
        messages = error_messages("en")
        report = importing.problems_frame(
            checked.problems, lambda p: importing.describe(p, messages)
        )
        print(f"Rejected {args.file.name}: {checked.n_problems:,} problems, nothing written.")
        print(report.head(50).to_string(index=False))
        if args.report:
            report.to_csv(args.report, index=False, encoding="utf-8-sig")
            print(f"Error report written to {args.report}.")
        return 1
    elapsed = time.perf_counter() - started
    if result is None:
        print(f"{args.file.name} is valid: {checked.rows:,} rows (checked only, nothing written).")
    else:
        print(
            f"Imported {checked.rows:,} rows of {args.entity} from {args.file.name} in "
            f"{elapsed:.1f} s: {result.inserted:,} new, {result.updated:,} updated, "
            f"{result.unchanged:,} unchanged."
        )
    return 0


def _full_mapping(entity: str, mapping: dict[str, str] | None, path: Path) -> dict | None:
    """Explicit mappings win; fields left out are matched by column name."""
    if mapping is None:
        return None
    try:
        columns = read_table(path.read_bytes(), path.name).columns
    except FileProblem:
        return mapping
    return {**auto_mapping(ENTITIES[entity], columns), **mapping}


def _grant(engine: Engine, role: str) -> None:
    with engine.begin() as conn:
        row_security.grant_app_role(conn, role)
    print(f"Role {role} may use the database; row-level security applies to it.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_access", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the configured database to the newest schema")
    ga = sub.add_parser(
        "grant-app",
        help="PostgreSQL: give the app's non-owner role its rights (row-level security applies)",
    )
    ga.add_argument("role", nargs="?", help="the role (default: the user of STRATA_DATABASE_URL)")
    for name, text in (
        ("demo-db", "migrate and fill the configured database with the demo portfolio"),
        ("ensure-demo", "create and fill the demo database only if it holds no accounts"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--accounts", type=int, default=2000, help="accounts to generate (100-100000)"
        )
        p.add_argument("--seed", type=int, default=42)
        p.add_argument(
            "--end-month", help="last simulated month, YYYY-MM-01 (default: last complete month)"
        )
        if name == "demo-db":
            p.add_argument("--replace", action="store_true", help="overwrite existing data")
    sub.add_parser("refresh", help="recompute health snapshots")
    imp = sub.add_parser(
        "import", help="check and import a CSV or Excel file (all or nothing, upsert by key)"
    )
    imp.add_argument("entity", choices=sorted(ENTITIES), help="what the file holds")
    imp.add_argument("file", type=Path, help="the CSV or .xlsx file")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map a field to a file column (repeatable); unmapped fields match by column name",
    )
    imp.add_argument("--preset", help="use a column mapping saved on the admin page")
    imp.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    imp.add_argument("--report", type=Path, help="write the error report to this CSV file")
    imp.add_argument(
        "--as-user", default="admin", help="the admin the import is recorded under (audit log)"
    )
    bk = sub.add_parser("backup", help="copy the embedded SQLite database while the app runs")
    bk.add_argument(
        "file", type=Path, nargs="?", help="target file (default: data/backups/strata-<time>.db)"
    )
    rs = sub.add_parser("restore", help="replace the embedded database's content with a backup")
    rs.add_argument("file", type=Path, help="a file written by the backup command")
    args = parser.parse_args(argv)

    try:
        url = owner_database_url()
        engine = create_engine_for(url)
        check_connection(engine)
    except (ConfigError, DatabaseUnavailable) as exc:
        print(f"strata: {exc}", file=sys.stderr)
        return 2
    where = url.render_as_string(hide_password=True)
    started = time.perf_counter()
    try:
        if args.command == "migrate":
            migrate.upgrade(engine)
            print(f"Database at {where} is at the newest schema.")
            app_user = database_url().username
            if url.get_backend_name() == "postgresql" and app_user not in (None, url.username):
                _grant(engine, app_user)
        elif args.command == "grant-app":
            role = args.role or database_url().username
            if url.get_backend_name() != "postgresql" or not role:
                print("strata: grant-app needs PostgreSQL and a role name.", file=sys.stderr)
                return 2
            migrate.upgrade(engine)
            _grant(engine, role)
        elif args.command == "backup":
            target = (
                args.file
                or Path("data") / "backups" / f"strata-{dt.datetime.now():%Y%m%d-%H%M%S}.db"
            )
            size = backup.backup(url, target)
            print(f"Backed up {where} to {target} ({size / 1048576:.1f} MB).")
        elif args.command == "restore":
            version = backup.restore(engine, args.file)
            print(f"Restored {where} from {args.file}; data version is now {version}.")
        elif args.command == "import":
            migrate.upgrade(engine)
            return _import(engine, args)
        elif args.command == "refresh":
            migrate.upgrade(engine)
            result = refresh.run_refresh(engine, progress=_progress)
            print(f"Wrote {result['snapshots']:,} snapshots as of {result['as_of']}.")
        else:
            migrate.upgrade(engine)
            with engine.connect() as conn:
                filled = seed.has_accounts(conn)
                stale = filled and refresh.snapshots_missing(conn)
            if args.command == "ensure-demo" and filled:
                if stale:
                    refresh.run_refresh(engine, progress=_progress)
                print(f"Using the existing database at {where}.")
                return 0
            print(f"Creating the demo portfolio in {where} ...")
            written = seed.build_demo_database(
                engine, _spec(args), replace=getattr(args, "replace", False), progress=_progress
            )
            print(
                f"Demo portfolio ready: {written['accounts']:,} accounts, "
                f"{written['revenue_monthly']:,} monthly revenue rows "
                f"in {time.perf_counter() - started:.1f} s."
            )
    except (seed.DatabaseNotEmpty, backup.BackupError) as exc:
        print(f"strata: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"strata: {describe_error(exc, url)}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
