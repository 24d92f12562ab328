"""Performance at bank scale: every page and role at 1,000, 20,000 and 104,000 accounts.

Run with ``make bench`` (``SIZES=S,M,L DATABASES=sqlite,postgresql``). For each size it
builds a demo portfolio once (36 months; L has 104,000 accounts and 10.1 million
monthly revenue rows) on SQLite and on PostgreSQL and keeps it in ``STRATA_BENCH_DIR``
(default ``~/.cache/strata-bench``) and in the databases ``strata_bench_s/m/l``, so later
runs only measure. Then, per size and database, in a fresh process:

- the refresh job (all snapshots, models and peer figures), with peak memory;
- every page for every role with AppTest: server render with a cold cache and a warm
  cache (each the median of ``--runs``), time spent in the data layer, bytes of the messages
  sent to the browser, the largest chart and table, and the memory the render added;
- the baseline: the straightforward way, loading the raw tables into pandas and
  computing the same overview figures there (checked to give the same figures);
- importing 100,000 monthly revenue rows (removed again afterwards);

and, with a real `streamlit run` server and headless Chromium, the time until the
overview's first chart is drawn (cold and warm) and the server's memory with ten signed-in
sessions. Prints the tables and writes them to ``docs/PERFORMANCE.md``.

On PostgreSQL the app connects as a role that does not own the tables, so row-level
security is in force as in a shared deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import itertools
import json
import os
import pkgutil
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import CHROMIUM, CHROMIUM_ARGS, rss_mb, start_server  # noqa: E402

# L is the smallest round size whose 36 months hold at least ten million monthly revenue
# rows (100,000 accounts of the demo portfolio hold 9.73 million).
SIZES = {"S": 1_000, "M": 20_000, "L": 104_000}
SEED = 11
END_MONTH = dt.date(2026, 9, 1)
PG_ADMIN = os.environ.get(
    "STRATA_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "strata_bench_app"
CACHE = Path(os.environ.get("STRATA_BENCH_DIR", Path.home() / ".cache" / "strata-bench"))
# Page scripts by role; admins see the dashboards as executives do, so only their own
# pages are measured for them.
DASHBOARDS = [
    ("overview", "app.py"),
    ("accounts", "pages/accounts.py"),
    ("profile", "pages/profile.py"),
    ("lifecycle", "pages/lifecycle.py"),
    ("satisfaction", "pages/satisfaction.py"),
    ("growth", "pages/growth.py"),
    ("interventions", "pages/interventions.py"),
]
ROLES = {
    "executive": ("exec", [*DASHBOARDS, ("models", "pages/models.py")]),
    "account manager": ("manager", DASHBOARDS),
    "admin": ("admin", [("settings", "pages/settings.py"), ("admin", "pages/admin.py")]),
}
IMPORT_ROWS = 100_000
MARKER = "<!-- reading: kept when the benchmark rewrites the tables above -->"


@dataclass(frozen=True)
class Target:
    size: str
    database: str

    @property
    def spec(self):
        from data_access.demo import DemoSpec

        return DemoSpec(n_accounts=SIZES[self.size], seed=SEED, end_month=END_MONTH, months=36)

    @property
    def spec_text(self) -> str:
        s = self.spec
        return f"{s.n_accounts}:{s.seed}:{s.months}:{s.end_month.isoformat()}"

    def owner_url(self) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{CACHE / f'strata-bench-{self.size.lower()}.db'}"
        from sqlalchemy.engine import make_url

        url = make_url(PG_ADMIN).set(database=f"strata_bench_{self.size.lower()}")
        return url.render_as_string(hide_password=False)

    def app_url(self) -> str:
        """What the app connects with: on PostgreSQL a role that does not own the tables."""
        if self.database == "sqlite":
            return self.owner_url()
        from sqlalchemy.engine import make_url

        return make_url(self.owner_url()).set(username=APP_ROLE).render_as_string(False)


# ------------------------------------------------------------------ memory and timing
class PeakRss:
    """Samples this process's resident memory every 5 ms while active."""

    def __init__(self) -> None:
        self.peak = self.start = rss_mb(os.getpid())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb(os.getpid()))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(os.getpid()))


class DbClock:
    """Wall time inside the data layer's transactions: queries, fetching, building frames.

    Every page reads through ``data_access.cached``'s ``_read``/``_write``; those are
    wrapped, so the time is what the page waited for the database and its conversion.
    """

    def __init__(self) -> None:
        from data_access import cached

        self.seconds = 0.0
        self.calls = 0
        for name in ("_read", "_write"):
            setattr(cached, name, self._timed(getattr(cached, name)))

    def _timed(self, func):
        def timed(*args: object, **kwargs: object):
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        return timed

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


# ------------------------------------------------------------------ building portfolios
def _pg_admin_engine():
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(PG_ADMIN), isolation_level="AUTOCOMMIT")


def postgres_answers() -> bool:
    from sqlalchemy import text

    try:
        eng = _pg_admin_engine()
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception:  # noqa: BLE001 - any failure means: no server to measure
        return False
    return True


def _built_spec(target: Target) -> str | None:
    """The spec the target database was built with, or None if it is missing or unfinished."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from data_access.engine import create_engine_for

    if target.database == "sqlite":
        if not (CACHE / f"strata-bench-{target.size.lower()}.db").exists():
            return None
    else:
        eng = _pg_admin_engine()
        with eng.connect() as conn:
            name = f"strata_bench_{target.size.lower()}"
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
    eng = create_engine_for(make_url(target.owner_url()))
    try:
        with eng.connect() as conn:
            return conn.execute(
                text("SELECT value FROM app_settings WHERE key = 'bench_spec'")
            ).scalar()
    except Exception:  # noqa: BLE001 - no schema yet
        return None
    finally:
        eng.dispose()


def build(targets: list[Target]) -> dict[Target, float]:
    """Make sure each target holds its portfolio; returns build seconds of those built."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from data_access import demo, migrate
    from data_access.engine import create_engine_for
    from data_access.row_security import grant_app_role
    from data_access.seed import set_setting, write_demo_frames

    CACHE.mkdir(parents=True, exist_ok=True)
    built: dict[Target, float] = {}
    by_size: dict[str, list[Target]] = {}
    for t in targets:
        if _built_spec(t) != t.spec_text:
            by_size.setdefault(t.size, []).append(t)
    for size, todo in by_size.items():
        started = time.perf_counter()
        print(f"[{size}] generating {SIZES[size]:,} accounts ...", flush=True)
        frames = demo.generate(todo[0].spec)
        generated = time.perf_counter() - started
        print(
            f"[{size}] generated {sum(len(f) for f in frames.values()):,} rows "
            f"({len(frames['revenue_monthly']):,} monthly revenue) in {generated:.0f} s",
            flush=True,
        )
        for t in todo:
            t0 = time.perf_counter()
            eng = create_engine_for(make_url(t.owner_url()))
            migrate.upgrade(eng)
            write_demo_frames(eng, t.spec, frames)
            with eng.begin() as conn:
                set_setting(conn, "bench_spec", t.spec_text)
                if t.database == "postgresql":
                    with contextlib.suppress(Exception):
                        admin = _pg_admin_engine()
                        with admin.connect() as c:
                            c.execute(text(f'CREATE ROLE "{APP_ROLE}" LOGIN'))
                        admin.dispose()
                    grant_app_role(conn, APP_ROLE)
            if t.database == "postgresql":
                with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            eng.dispose()
            built[t] = generated + time.perf_counter() - t0
            print(f"[{size}] loaded into {t.database} in {time.perf_counter() - t0:.0f} s")
        del frames
    return built


# ------------------------------------------------------------------ the worker process
# The custom-component registry the worker's test apps share (see _preload).
_COMPONENTS = None


def _preload() -> None:
    """Import what pages use, so a cold render measures data work, not module imports."""
    global _COMPONENTS
    import plotly.graph_objects as go
    from streamlit.components.v2.component_manager import BidiComponentManager

    import analytics
    import components
    import data_access

    for pkg in (analytics, components, data_access):
        for mod in pkgutil.iter_modules(pkg.__path__):
            if mod.name != "__main__":
                importlib.import_module(f"{pkg.__name__}.{mod.name}")
    go.Figure(go.Bar(x=[1], y=[1])).to_json()
    # A server scans the installed packages for custom components once, at start; AppTest
    # does it again for every new test app (0.3 s here), which is no page's cost.
    _COMPONENTS = BidiComponentManager()
    _COMPONENTS.discover_and_register_components(start_file_watching=False)


def _message_sizes(msgs: list) -> dict:
    """Bytes of a run's forward messages, its largest chart and its largest table."""
    import pyarrow as pa

    total, charts, tables, rows = 0, [], [], 0
    for m in msgs:
        total += m.ByteSize()
        if not m.HasField("delta") or not m.delta.HasField("new_element"):
            continue
        el = m.delta.new_element
        kind = el.WhichOneof("type")
        if kind == "plotly_chart":
            charts.append(el.plotly_chart.ByteSize())
        elif kind == "dataframe":
            df = el.dataframe
            tables.append(df.ByteSize())
            n = df.lazy_data.row_count if df.HasField("lazy_data") else 0
            if df.arrow_data.data:
                with pa.ipc.open_stream(df.arrow_data.data) as reader:
                    n = max(n, reader.read_all().num_rows)
            rows = max(rows, n)
    return {
        "bytes": total,
        "charts": len(charts),
        "max_chart": max(charts, default=0),
        "max_table": max(tables, default=0),
        "max_rows": rows,
    }


def _session_for(url: str, username: str) -> tuple[object, str]:
    from sqlalchemy.engine import make_url

    from data_access import auth
    from data_access.engine import create_engine_for

    eng = create_engine_for(make_url(url))
    with eng.begin() as conn:
        user = auth.verify_login(conn, username, "strata-demo")
        cookie, _ = auth.create_session(conn, user)
    eng.dispose()
    return user, cookie.split(".")[0]


def _profile_account(url: str, team_id: int) -> str:
    """The largest active account of the team: a profile with the most to show."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from data_access.engine import create_engine_for

    eng = create_engine_for(make_url(url))
    with eng.connect() as conn:
        code = conn.execute(
            text(
                "SELECT a.code FROM accounts a JOIN account_monthly m ON m.account_id = a.id "
                "WHERE a.team_id = :t AND a.status = 'active' GROUP BY a.code "
                "ORDER BY sum(m.revenue) DESC LIMIT 1"
            ),
            {"t": team_id},
        ).scalar_one()
    eng.dispose()
    return code


def measure_pages(target: Target, runs: int, clock: DbClock) -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import local_script_runner as lsr

    last: dict[str, list] = {}
    original = lsr.LocalScriptRunner.run

    def run(self, *a: object, **k: object):
        tree = original(self, *a, **k)
        last["msgs"] = list(self.forward_msgs())
        return tree

    lsr.LocalScriptRunner.run = run
    _preload()
    results = []
    for role, (username, pages) in ROLES.items():
        user, session_id = _session_for(target.app_url(), username)
        account = _profile_account(target.owner_url(), user.team_id or 1)

        def app_test(path: str, user=user, session_id=session_id, account=account):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            at._bidi_component_manager = _COMPONENTS
            if path != "app.py":
                at.switch_page(path)
            at.session_state["lang"] = "en"
            at.session_state["user"] = user
            at.session_state["session_id"] = session_id
            if path == "pages/profile.py":
                at.query_params["account"] = account
            return at

        if not results:  # first page ever: plotly, pyarrow and friends warm up, untimed
            app_test("app.py").run()
        for name, path in pages:
            # Cold: each run with every data cache emptied, in a new session; the median
            # of ``runs``. Memory and what is sent are those of the first.
            colds, cold_dbs = [], []
            for i in range(runs):
                st.cache_data.clear()
                at = app_test(path)
                clock.reset()
                with PeakRss() as mem:
                    t0 = time.perf_counter()
                    at.run()
                    colds.append(time.perf_counter() - t0)
                if at.exception:
                    raise SystemExit(f"{name} as {role} failed: {at.exception[0].message}")
                cold_dbs.append(clock.seconds)
                statements = clock.calls
                if i == 0:
                    first_mem, sizes = mem, _message_sizes(last["msgs"])
            cold, cold_db, mem = statistics.median(colds), statistics.median(cold_dbs), first_mem
            warm, warm_db = [], []
            for _ in range(runs):
                clock.reset()
                t0 = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t0)
                warm_db.append(clock.seconds)
            results.append(
                {
                    "role": role,
                    "page": name,
                    "cold": cold,
                    "cold_db": cold_db,
                    "transactions": statements,
                    "warm": statistics.median(warm),
                    "warm_db": statistics.median(warm_db),
                    "peak_mb": mem.peak,
                    "added_mb": mem.peak - mem.start,
                    **sizes,
                }
            )
            print(
                f"  {role:<16} {name:<14} cold {cold:6.2f} s  warm {results[-1]['warm']:5.2f} s"
                f"  db {cold_db:5.2f} s  {sizes['bytes'] / 1024:7.0f} KB",
                flush=True,
            )
    lsr.LocalScriptRunner.run = original
    return results


def pandas_overview(url: str, period_month: dt.date) -> dict:
    """The baseline: read the raw tables into pandas and compute the overview there."""
    import pandas as pd
    from sqlalchemy.engine import make_url

    from analytics import overview as ov
    from analytics.periods import add_months, month_end
    from analytics.satisfaction import compute_nps
    from data_access.engine import create_engine_for

    eng = create_engine_for(make_url(url))
    with eng.connect() as conn:
        accounts = pd.read_sql("SELECT * FROM accounts", conn)
        revenue = pd.read_sql("SELECT account_id, month, revenue FROM revenue_monthly", conn)
        surveys = pd.read_sql(
            "SELECT account_id, survey, score, responded_on FROM survey_responses", conn
        )
        stages = pd.read_sql("SELECT account_id, stage, entered_on, id FROM lifecycle_events", conn)
        scores = pd.read_sql(
            "SELECT account_id, as_of, health_score, health_band FROM account_scores", conn
        )
    eng.dispose()
    end = pd.Timestamp(month_end(period_month))
    cur = pd.Timestamp(add_months(period_month, -11))
    prev = pd.Timestamp(add_months(period_month, -23))
    revenue["month"] = pd.to_datetime(revenue["month"])
    window = revenue[(revenue["month"] >= prev) & (revenue["month"] <= pd.Timestamp(period_month))]
    current = window["month"] >= cur
    sums = (
        pd.DataFrame(
            {
                "revenue_12m": window["revenue"].where(current, 0.0),
                "revenue_prev_12m": window["revenue"].where(~current, 0.0),
                "account_id": window["account_id"],
            }
        )
        .groupby("account_id")
        .sum()
    )
    for col in ("onboarded_on", "churned_on"):
        accounts[col] = pd.to_datetime(accounts[col])
    df = accounts.rename(columns={"id": "account_id"}).merge(sums, on="account_id", how="left")
    df[["revenue_12m", "revenue_prev_12m"]] = df[["revenue_12m", "revenue_prev_12m"]].fillna(0.0)
    stages["entered_on"] = pd.to_datetime(stages["entered_on"])
    latest = (
        stages[stages["entered_on"] <= end]
        .sort_values(["account_id", "entered_on", "id"])
        .groupby("account_id")
        .tail(1)[["account_id", "stage"]]
    )
    scores["as_of"] = pd.to_datetime(scores["as_of"])
    df = df.merge(latest, on="account_id", how="left").merge(
        scores[scores["as_of"] == end][["account_id", "health_score", "health_band"]],
        on="account_id",
        how="left",
    )
    df = df[(df["onboarded_on"] <= end) & (df["churned_on"].isna() | (df["churned_on"] >= prev))]
    surveys["responded_on"] = pd.to_datetime(surveys["responded_on"])
    nps_rows = surveys[
        (surveys["survey"] == "nps")
        & surveys["responded_on"].between(cur, end)
        & surveys["account_id"].isin(df["account_id"])
    ]
    nps = compute_nps(
        int((nps_rows["score"] >= 9).sum()),
        int(nps_rows["score"].between(7, 8).sum()),
        int((nps_rows["score"] <= 6).sum()),
    )
    monthly = window.groupby("month")["revenue"].sum()
    return {
        "kpis": ov.compute_kpis(df, nps, period_month),
        "tier_mix": ov.compute_tier_mix(df, period_month),
        "pareto": ov.compute_pareto(df),
        "movers": ov.compute_top_movers(df),
        "monthly": monthly,
    }


def measure_baseline(target: Target, runs: int) -> dict:
    """Median time of the pandas baseline, and whether its figures match the app's."""
    from sqlalchemy.engine import make_url

    from data_access import portfolio
    from data_access.engine import create_engine_for
    from data_access.scope import Filters, Scope

    eng = create_engine_for(make_url(target.owner_url()))
    with eng.connect() as conn:
        month = max(portfolio.fetch_available_months(conn, Scope(0, "executive")))
        filters = Filters(period_end=month)
        app_accounts = portfolio.fetch_portfolio_accounts(conn, Scope(0, "executive"), filters)
        counts = portfolio.fetch_nps_counts(conn, Scope(0, "executive"), filters)
    eng.dispose()
    times = []
    with PeakRss() as mem:
        for _ in range(runs):
            t0 = time.perf_counter()
            figures = pandas_overview(target.owner_url(), month)
            times.append(time.perf_counter() - t0)
    from analytics import overview as ov
    from analytics.satisfaction import compute_nps

    app = ov.compute_kpis(
        app_accounts,
        compute_nps(counts["promoters"], counts["passives"], counts["detractors"]),
        month,
    )
    base = figures["kpis"]
    same = (
        app.active_accounts == base.active_accounts
        and abs(app.revenue_12m - base.revenue_12m) < 1e-6 * max(1.0, app.revenue_12m)
        and app.churned_12m == base.churned_12m
        and app.nps.nps == base.nps.nps
    )
    return {"baseline": statistics.median(times), "baseline_mb": mem.peak - mem.start, "same": same}


def measure_refresh(target: Target) -> dict:
    from sqlalchemy.engine import make_url

    from data_access import refresh
    from data_access.engine import create_engine_for

    eng = create_engine_for(make_url(target.owner_url()))
    steps: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def say(message: str, _f: float) -> None:
        now = time.perf_counter()
        steps.append((message, now - last[0]))
        last[0] = now

    with PeakRss() as mem:
        t0 = time.perf_counter()
        out = refresh.run_refresh(eng, progress=say)
        seconds = time.perf_counter() - t0
    eng.dispose()
    return {
        "refresh": seconds,
        "refresh_mb": mem.peak,
        "snapshots": out["snapshots"],
        "refresh_steps": steps,
    }


def measure_import(target: Target) -> dict:
    """Import 100,000 monthly revenue rows for months before the history, then remove them."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bench.imports import revenue_file
    from data_access import segments, stage_rollup, windows
    from data_access.engine import create_engine_for
    from data_access.importing import run_import
    from data_access.scope import Scope

    eng = create_engine_for(make_url(target.owner_url()))
    with eng.connect() as conn:
        admin = conn.execute(text("SELECT id FROM users WHERE role = 'admin' ORDER BY id")).scalar()
    frame = revenue_file(eng, IMPORT_ROWS)
    data = frame.to_csv(index=False).encode("utf-8")
    t0 = time.perf_counter()
    checked, result = run_import(eng, Scope(admin, "admin"), "revenue", data, "bench.csv")
    seconds = time.perf_counter() - t0
    if not checked.ok or result is None:
        raise SystemExit(f"benchmark import rejected: {checked.problems[:3]}")
    with eng.begin() as conn:
        touched = (
            conn.execute(
                text("SELECT DISTINCT account_id FROM account_monthly WHERE month < '2022-01-01'")
            )
            .scalars()
            .all()
        )
        for table in ("revenue_monthly", "account_monthly"):
            conn.execute(text(f"DELETE FROM {table} WHERE month < '2022-01-01'"))
        windows.rebuild(conn, touched)
        segments.rebuild(conn, last=dt.date(2021, 12, 1), sources=("revenue",))
        stage_rollup.rebuild_if_months_changed(conn)
    eng.dispose()
    return {"import": seconds, "import_rows": result.inserted}


def worker(target: Target, runs: int, refresh: bool, out: Path) -> None:
    os.environ["STRATA_DATABASE_URL"] = target.app_url()
    os.environ["STRATA_OWNER_DATABASE_URL"] = target.owner_url()
    import logging

    logging.disable(logging.WARNING)  # AppTest's bare-mode notices on every cache clear
    clock = DbClock()
    result: dict = {"size": target.size, "database": target.database}
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from data_access import migrate
    from data_access.engine import create_engine_for
    from data_access.row_security import grant_app_role

    eng = create_engine_for(make_url(target.owner_url()))
    migrate.upgrade(eng)  # a portfolio built by an older version gets the new indexes
    if target.database == "postgresql":
        with eng.begin() as conn:
            grant_app_role(conn, APP_ROLE)
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    with eng.connect() as conn:
        for table in ("accounts", "revenue_monthly", "account_monthly", "interactions"):
            result[f"rows_{table}"] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    eng.dispose()
    if refresh:
        print(f"[{target.size} {target.database}] refresh job ...", flush=True)
        result |= measure_refresh(target)
        print(f"  refresh {result['refresh']:.1f} s", flush=True)
    print(f"[{target.size} {target.database}] pages ...", flush=True)
    result["pages"] = measure_pages(target, runs, clock)
    print(f"[{target.size} {target.database}] pandas baseline ...", flush=True)
    result |= measure_baseline(target, 1 if target.size == "L" else 3)
    print(f"  baseline {result['baseline']:.1f} s (same figures: {result['same']})", flush=True)
    print(f"[{target.size} {target.database}] import of {IMPORT_ROWS:,} rows ...", flush=True)
    result |= measure_import(target)
    print(f"  import {result['import']:.1f} s", flush=True)
    result["worker_peak_mb"] = _vm_hwm(os.getpid())
    out.write_text(json.dumps(result, default=str))


def _vm_hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ------------------------------------------------------------------ the browser
CHART = '[data-testid="stPlotlyChart"] .main-svg'


async def _browser(base: str, pid: int, sessions: int) -> dict:
    from playwright.async_api import async_playwright

    async def sign_in(browser):
        context = await browser.new_context(
            locale="en-US", viewport={"width": 1400, "height": 1000}
        )
        page = await context.new_page()
        await page.goto(base, wait_until="commit", timeout=300_000)
        box = page.get_by_role("textbox", name="Username")
        await box.wait_for(timeout=300_000)
        await box.fill("exec")
        await page.get_by_role("textbox", name="Password").fill("strata-demo")
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_selector(CHART, timeout=600_000)
        return context, page, time.perf_counter() - t0

    out: dict = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = []
        context, page, out["chart_cold"] = await sign_in(browser)
        contexts.append(context)
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            await page.reload(wait_until="commit")
            await page.wait_for_selector(CHART, timeout=600_000)
            warm.append(time.perf_counter() - t0)
        out["chart_warm"] = statistics.median(warm)
        for _ in range(sessions - 1):
            context, page, _t = await sign_in(browser)
            contexts.append(context)
            await page.locator('[data-testid="stSidebar"] a[href="accounts"]').click()
            await page.wait_for_selector('[data-testid="stDataFrame"]', timeout=600_000)
        out["server_mb"] = rss_mb(pid)
        out["server_peak_mb"] = _vm_hwm(pid)
        out["sessions"] = len(contexts)
        await browser.close()
    return out


def measure_browser(target: Target, sessions: int, log: Path) -> dict:
    proc, base = start_server(target.app_url(), log)
    try:
        return asyncio.run(_browser(base, proc.pid, sessions))
    finally:
        proc.terminate()
        proc.wait(30)


# ------------------------------------------------------------------ report
def _machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024 / 1024
    pg = ""
    with contextlib.suppress(Exception):
        from sqlalchemy import text

        eng = _pg_admin_engine()
        with eng.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar()
        eng.dispose()
    import sqlite3

    import streamlit

    return (
        f"{os.cpu_count()} × {cpu}, {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, Streamlit "
        f"{streamlit.__version__}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg or 'n/a'} "
        "(on the same machine, default settings)"
    )


def _commit() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    out = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def _f(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def report(results: list[dict], browser: dict, built: dict, args: argparse.Namespace) -> str:
    lines = [
        "# Performance at bank scale",
        "",
        f"Measured {dt.date.today().isoformat()} with `make bench` (`bench/perf.py`, at "
        f"commit {_commit()}) on {_machine()}.",
        "",
        "Portfolios: demo generator, seed "
        f"{SEED}, 36 months ending {END_MONTH:%Y-%m}. Times in seconds, sizes in KB "
        "(1 KB = 1,024 bytes), memory in MB of resident memory. Cold = Streamlit's data "
        "caches empty (the process, its imports and its connection pool warm, as on a "
        f"running server), median of {args.runs} renders each in a new session; warm = "
        f"median of {args.runs} reruns. Data = wall time "
        "inside the data layer's transactions (queries, fetching, building frames) during "
        "the cold renders (median), transactions = how many. Sent = bytes of every message "
        "of the run to the browser; chart = the largest Plotly chart; rows = the most rows of any "
        "table sent. On PostgreSQL the app's role is bound by row-level security.",
        "",
        "## Portfolios",
        "",
        "| size | database | accounts | monthly revenue rows | account-month rollup rows "
        "| interactions | build (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b = built.get(f"{r['size']}:{r['database']}")
        lines.append(
            f"| {r['size']} | {r['database']} | {r['rows_accounts']:,} | "
            f"{r['rows_revenue_monthly']:,} | {r['rows_account_monthly']:,} | "
            f"{r['rows_interactions']:,} | {_f(b, 0) if b else 'cached'} |"
        )
    lines += [
        "",
        "## Pages (server render, AppTest)",
        "",
        "| page | role | database | "
        + " | ".join(f"{s} cold" for s in args.sizes)
        + " | "
        + " | ".join(f"{s} warm" for s in args.sizes)
        + f" | {args.sizes[-1]} data | {args.sizes[-1]} transactions | {args.sizes[-1]} sent KB "
        f"| {args.sizes[-1]} chart KB | {args.sizes[-1]} rows | {args.sizes[-1]} +MB |",
        "|---|---|---|" + "---:|" * (2 * len(args.sizes) + 6),
    ]
    by_key = {(r["size"], r["database"]): r for r in results}
    for role, (_u, pages) in ROLES.items():
        for name, _p in pages:
            for db in args.databases:
                cells = []
                for key in ("cold", "warm"):
                    for s in args.sizes:
                        rec = _page(by_key.get((s, db)), role, name)
                        cells.append(_f(rec and rec[key]))
                big = _page(by_key.get((args.sizes[-1], db)), role, name) or {}
                lines.append(
                    f"| {name} | {role} | {db} | "
                    + " | ".join(cells)
                    + f" | {_f(big.get('cold_db'))} | {big.get('transactions', '–')} | "
                    f"{_f(big.get('bytes', 0) / 1024, 0)} | {_f(big.get('max_chart', 0) / 1024, 0)}"
                    f" | {big.get('max_rows', '–')} | {_f(big.get('added_mb'), 0)} |"
                )
    lines += [
        "",
        "## Jobs, baseline and browser",
        "",
        "| size | database | refresh job (s) | refresh peak MB | 100,000-row import (s) | "
        "overview cold (s) | pandas baseline (s) | baseline ÷ cold | baseline ÷ warm | "
        "same figures | chart in browser cold (s) | warm (s) | server MB, 10 sessions |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        ov = _page(r, "executive", "overview") or {}
        br = browser.get(f"{r['size']}:{r['database']}", {})
        lines.append(
            f"| {r['size']} | {r['database']} | {_f(r.get('refresh'), 0)} | "
            f"{_f(r.get('refresh_mb'), 0)} | {_f(r.get('import'), 1)} | {_f(ov.get('cold'))} | "
            f"{_f(r.get('baseline'), 1)} | {_f(r['baseline'] / ov['cold'], 0)}× | "
            f"{_f(r['baseline'] / ov['warm'], 0)}× | {'yes' if r.get('same') else 'NO'} | "
            f"{_f(br.get('chart_cold'))} | {_f(br.get('chart_warm'))} | "
            f"{_f(br.get('server_mb'), 0)} |"
        )
    lines += ["", "## Refresh job steps at the largest size", ""]
    for r in results:
        if r["size"] == args.sizes[-1] and r.get("refresh_steps"):
            lines.append(
                f"- {r['database']}: "
                + "; ".join(f"{m} {s:.0f} s" for m, s in _steps(r["refresh_steps"]))
            )
    return "\n".join(lines) + "\n"


def _steps(steps: list) -> list[tuple[str, float]]:
    """Each progress message paired with the time until the next one."""
    out = []
    for (message, _), (_next, seconds) in itertools.pairwise(steps):
        out.append((message, seconds))
    return out


def _page(result: dict | None, role: str, name: str) -> dict | None:
    if not result:
        return None
    for p in result["pages"]:
        if p["role"] == role and p["page"] == name:
            return p
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("SIZES", "S,M,L"))
    parser.add_argument("--databases", default=os.environ.get("DATABASES", "sqlite,postgresql"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--no-refresh", action="store_true", help="reuse the last snapshots")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--build-only", action="store_true", help="only build the portfolios")
    parser.add_argument("--out", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        size, database = args.worker.split(":")
        worker(Target(size, database), args.runs, not args.no_refresh, Path(args.result))
        return
    args.sizes = [s.strip().upper() for s in args.sizes.split(",")]
    args.databases = [d.strip() for d in args.databases.split(",")]
    if "postgresql" in args.databases and not postgres_answers():
        print("PostgreSQL does not answer: measuring SQLite only", file=sys.stderr)
        args.databases.remove("postgresql")
    targets = [Target(s, d) for s in args.sizes for d in args.databases]
    built = {f"{t.size}:{t.database}": s for t, s in build(targets).items()}
    if args.build_only:
        return
    results, browser = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for t in targets:
            out = Path(tmp) / f"{t.size}-{t.database}.json"
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                f"{t.size}:{t.database}",
                "--result",
                str(out),
                "--runs",
                str(args.runs),
            ]
            if args.no_refresh:
                cmd.append("--no-refresh")
            subprocess.run(cmd, check=True, cwd=ROOT)
            results.append(json.loads(out.read_text()))
            if not args.no_browser and Path(CHROMIUM).exists():
                print(f"[{t.size} {t.database}] browser ...", flush=True)
                browser[f"{t.size}:{t.database}"] = measure_browser(
                    t, args.sessions, Path(tmp) / "server.log"
                )
                print(f"  {browser[f'{t.size}:{t.database}']}", flush=True)
    text_out = report(results, browser, built, args)
    print()
    print(text_out)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The written reading of the figures below the marker survives a new run.
    kept = out.read_text(encoding="utf-8").split(MARKER, 1) if out.exists() else []
    out.write_text(text_out + (f"\n{MARKER}{kept[1]}" if len(kept) == 2 else ""), "utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
