"""Benchmark: importing 100,000 rows of monthly revenue, on SQLite and PostgreSQL.

Run with ``make bench-import``. Builds a 1,000-account demo portfolio in a temporary
SQLite file and (if the server answers) a temporary PostgreSQL database, writes a CSV of
100,000 revenue rows for months before the demo's history, and times four imports of it:
check only, first import (all rows new), the same file again (nothing changes) and a file
with every amount changed (all rows updated; the monthly rollup is recomputed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_access.demo import DemoSpec
from data_access.engine import create_engine_for
from data_access.importing import run_import
from data_access.scope import Scope
from data_access.seed import build_demo_database

PG_ADMIN = os.environ.get(
    "STRATA_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SPEC = DemoSpec(n_accounts=1000, seed=5, end_month=dt.date(2026, 6, 1))


def revenue_file(engine: Engine, rows: int) -> pd.DataFrame:
    """``rows`` monthly revenue rows for 2012-2021, before any demo history."""
    months = pd.date_range("2012-01-01", periods=120, freq="MS").strftime("%Y-%m")
    with engine.connect() as conn:
        products = [r[0] for r in conn.execute(text("SELECT code FROM products ORDER BY code"))]
        needed = -(-rows // (len(products) * len(months)))
        accounts = [
            r[0]
            for r in conn.execute(
                text("SELECT code FROM accounts ORDER BY code LIMIT :n"), {"n": needed}
            )
        ]
    combos = (
        pd.MultiIndex.from_product(
            [accounts, products, months], names=["account", "product", "month"]
        )
        .to_frame(index=False)
        .head(rows)
    )
    combos["revenue"] = [f"{1000 + (i * 37) % 90000:,}.50" for i in range(len(combos))]
    return combos


def _admin(engine: Engine) -> Scope:
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM users WHERE role = 'admin' ORDER BY id")).scalar()
    return Scope(uid, "admin")


def _time(engine: Engine, data: bytes, dry: bool) -> tuple[float, object]:
    started = time.perf_counter()
    checked, result = run_import(engine, _admin(engine), "revenue", data, "bench.csv", dry_run=dry)
    if not checked.ok:
        raise SystemExit(f"benchmark file rejected: {checked.problems[:3]}")
    return time.perf_counter() - started, result


def bench(engine: Engine, rows: int) -> list[tuple[str, float, str]]:
    frame = revenue_file(engine, rows)
    first = frame.to_csv(index=False).encode("utf-8")
    changed = frame.assign(revenue=frame["revenue"].str.replace(".50", ".75")).to_csv(index=False)
    out = []
    for label, data, dry in (
        ("check only", first, True),
        ("first import (insert)", first, False),
        ("same file again", first, False),
        ("every amount changed (update)", changed.encode("utf-8"), False),
    ):
        seconds, result = _time(engine, data, dry)
        what = (
            "valid"
            if result is None
            else f"{result.inserted:,} new, {result.updated:,} updated, {result.unchanged:,} same"
        )
        out.append((label, seconds, what))
    return out


def _pg_engine() -> tuple[Engine, object] | None:
    admin = create_engine(make_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    name = f"strata_bench_import_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: the SQLite figures still stand
        print(f"PostgreSQL skipped: {exc.__class__.__name__}", file=sys.stderr)
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return create_engine_for(make_url(PG_ADMIN).set(database=name)), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        engines = [("SQLite", create_engine_for(make_url(f"sqlite:///{tmp}/bench.db")), None)]
        pg = _pg_engine()
        if pg:
            engines.append(("PostgreSQL", *pg))
        for name, engine, cleanup in engines:
            print(f"Building the {SPEC.n_accounts:,}-account portfolio on {name} ...", flush=True)
            build_demo_database(engine, SPEC)
            for label, seconds, what in bench(engine, args.rows):
                results.append((name, label, seconds, what))
            engine.dispose()
            if cleanup:
                cleanup()
    print()
    print(f"Import of {args.rows:,} monthly revenue rows (CSV, thousands separators)")
    print(f"{'database':<11} {'step':<31} {'seconds':>8} {'rows/s':>9}  result")
    for name, label, seconds, what in results:
        print(f"{name:<11} {label:<31} {seconds:>8.1f} {args.rows / seconds:>9,.0f}  {what}")


if __name__ == "__main__":
    main()
