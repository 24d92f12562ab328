"""Command line: ``python -m data_access {migrate,demo-db,ensure-demo,refresh}``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from sqlalchemy.exc import SQLAlchemyError

from data_access import migrate, refresh, seed
from data_access.config import ConfigError, database_url
from data_access.demo import DemoSpec
from data_access.engine import (
    DatabaseUnavailable,
    check_connection,
    create_engine_for,
    describe_error,
)


def _progress(message: str, fraction: float) -> None:
    width = 30
    filled = round(width * max(0.0, min(1.0, fraction)))
    print(f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  {message}", flush=True)


def _spec(args: argparse.Namespace) -> DemoSpec:
    end = dt.date.fromisoformat(args.end_month) if args.end_month else None
    return DemoSpec(n_accounts=args.accounts, seed=args.seed, end_month=end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_access", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the configured database to the newest schema")
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
    args = parser.parse_args(argv)

    try:
        url = database_url()
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
    except seed.DatabaseNotEmpty as exc:
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
