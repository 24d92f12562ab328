"""Load test: concurrent real browser sessions against one `streamlit run` server.

Run with ``make bench-load`` (``SESSIONS=20 ROUNDS=2``). Uses the default demo database
(``data/strata.db``, created as by ``make run`` if missing) unless ``STRATA_DATABASE_URL``
names another. Each session signs in as a different demo user (executives, account
managers of every team, an admin) in its own headless Chromium context and clicks
through every page its role may open: one warm-up round, then the measured rounds.
Reports the success rate, p50/p95 page-load time (navigation until the script finished
and the page drew), the server's memory growth from after warm-up to the end and how
many cores the server kept busy (the browsers share the same machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS = ["exec", "exec2", "admin", "manager", *[f"am{i:02d}" for i in range(4, 19)]]
# Sidebar links by the page they open (their labels follow each user's language).
COMMON = ["", "accounts", "profile", "lifecycle", "satisfaction", "growth", "interventions"]
PAGES = {
    "executive": [*COMMON, "models"],
    "account_manager": COMMON,
    "admin": [*COMMON, "models", "settings", "admin"],
}
NAMES = {"": "overview"}
WATCH = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__runs = [];
  window.__clicked = performance.now();
  if (window.__obs) window.__obs.disconnect();
  window.__obs = new MutationObserver(
    () => window.__runs.push(app.getAttribute('data-test-script-state')));
  window.__obs.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# Done: on the clicked page, its script run seen to start and finish. A run so quick that
# the browser drew "running" and "notRunning" in one frame leaves no trace; after 1.5 s
# on the right page with nothing running it counts as done (the time is then overstated).
DONE = """(path) => {
  const state = document.querySelector('[data-testid="stApp"]')
    .getAttribute('data-test-script-state');
  const here = location.pathname.replace(/^\\//, '') === path;
  return here && state === 'notRunning' && (
    window.__runs.includes('running') || performance.now() - window.__clicked > 1500);
}"""
ROLE = {"exec": "executive", "exec2": "executive", "admin": "admin"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children, in MB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    return total / 1024


def start_server(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env={**os.environ, "STRATA_DATABASE_URL": url},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server did not start; see {log}")


async def _open(page, path: str) -> None:
    """Click a page in the sidebar and wait until its script run has finished."""
    await page.evaluate(WATCH)
    await page.locator(f'[data-testid="stSidebar"] a[href="{path}"]').click()
    await page.wait_for_function(DONE, arg=path, timeout=60_000, polling=50)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _session(
    browser, base: str, user: str, rounds: int, results: list, delay: float, warm: asyncio.Event
) -> None:
    await asyncio.sleep(delay)  # sign-ins are staggered; the measured rounds overlap fully
    context = await browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    role = ROLE.get(user, "account_manager")
    try:
        await page.goto(base, wait_until="commit", timeout=300_000)
        username = page.get_by_role("textbox", name="Username")
        await username.wait_for(timeout=300_000)
        await username.fill(user)
        await page.get_by_role("textbox", name="Password").fill("strata-demo")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_selector('[data-testid="stSidebar"] a', timeout=300_000)
        for _ in range(50):  # the login cookie is set by a component after the first run
            if any(c["name"] == "strata_session" for c in await context.cookies()):
                break
            await page.wait_for_timeout(200)
    except Exception as exc:  # noqa: BLE001 - a failed sign-in counts as failed loads
        results.append((user, "login", 0, False, False, repr(exc)[:120]))
        await context.close()
        return
    for r in range(rounds + 1):
        for path in PAGES[role]:
            label = NAMES.get(path, path)
            started = time.perf_counter()
            try:
                await _open(page, path)
                ok = await page.locator('[data-testid="stException"]').count() == 0
                results.append((user, label, time.perf_counter() - started, ok, r > 0, ""))
            except Exception as exc:  # noqa: BLE001 - recorded as a failed load
                results.append(
                    (user, label, time.perf_counter() - started, False, r > 0, repr(exc)[:120])
                )
        if r == 0:
            results.append((user, "warm", 0, True, False, ""))
            await warm.wait()  # measured rounds start together, once every session is warm
        done = [x for x in results if x[0] == user and x[1] != "warm"]
        print(
            f"{user}: round {r} done, {sum(1 for x in done if x[3])}/{len(done)} loads ok, "
            f"last {done[-1][2]:.1f} s",
            flush=True,
        )
    await context.close()


async def _run(
    base: str, sessions: int, rounds: int, pid: int, stagger: float
) -> tuple[list, dict[str, float]]:
    from playwright.async_api import async_playwright

    results: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        users = [USERS[i % len(USERS)] for i in range(sessions)]
        warm = asyncio.Event()
        tasks = [
            asyncio.create_task(_session(browser, base, u, rounds, results, stagger * i, warm))
            for i, u in enumerate(users)
        ]
        # Every session signed in and clicked through once (or gave up): measure from here.
        while sum(1 for r in results if r[1] in ("warm", "login")) < sessions:
            await asyncio.sleep(0.5)
        marks = {
            "warm_rss": rss_mb(pid),
            "warm_cpu": _cpu_seconds(pid),
            "warm_at": time.perf_counter(),
        }
        warm.set()
        await asyncio.gather(*tasks)
        marks |= {
            "end_rss": rss_mb(pid),
            "end_cpu": _cpu_seconds(pid),
            "end_at": time.perf_counter(),
        }
        await browser.close()
    return results, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=int(os.environ.get("SESSIONS", 20)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 2)))
    parser.add_argument(
        "--stagger", type=float, default=3.0, help="seconds between two sessions' sign-ins"
    )
    args = parser.parse_args()
    url = os.environ.get("STRATA_DATABASE_URL", f"sqlite:///{ROOT / 'data' / 'strata.db'}")
    os.environ["STRATA_DATABASE_URL"] = url
    subprocess.run([sys.executable, "-m", "data_access", "ensure-demo"], cwd=ROOT, check=True)
    log = ROOT / "data" / "bench-load-server.log"
    proc, base = start_server(url, log)
    try:
        start_rss = rss_mb(proc.pid)
        started = time.perf_counter()
        results, marks = asyncio.run(_run(base, args.sessions, args.rounds, proc.pid, args.stagger))
        wall = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    loads = [r for r in results if r[1] not in ("warm",)]
    measured = [r for r in loads if r[4]]
    ok = [r for r in measured if r[3]]
    times = sorted(r[2] for r in ok)
    q = statistics.quantiles(times, n=20) if len(times) >= 20 else [float("nan")] * 19
    print()
    print(
        f"Load test: {args.sessions} concurrent browser sessions, {args.rounds} measured "
        f"rounds over every page of each role ({wall:.0f} s wall clock)"
    )
    print(f"{'page loads (measured, warm caches)':<40} {len(measured):>8,}")
    print(f"{'success rate':<40} {len(ok) / max(len(measured), 1):>8.1%}")
    print(f"{'p50 page load (s)':<40} {statistics.median(times) if times else float('nan'):>8.2f}")
    print(f"{'p95 page load (s)':<40} {q[18]:>8.2f}")
    print(f"{'max page load (s)':<40} {max(times) if times else float('nan'):>8.2f}")
    print(f"{'server memory at start (MB)':<40} {start_rss:>8.0f}")
    print(f"{'server memory after warm-up (MB)':<40} {marks['warm_rss']:>8.0f}")
    growth = marks["end_rss"] - marks["warm_rss"]
    print(f"{'server memory growth after warm-up (MB)':<40} {growth:>8.0f}")
    busy = (marks["end_cpu"] - marks["warm_cpu"]) / max(marks["end_at"] - marks["warm_at"], 1e-9)
    print(f"{'server CPU while measured (cores of ' + str(os.cpu_count()) + ')':<40} {busy:>8.2f}")
    failures = [r for r in loads if not r[3]]
    for user, path, seconds, _, _, error in failures[:10]:
        print(f"  failed: {user} {path} after {seconds:.1f} s {error}")
    by_page: dict[str, list[float]] = {}
    for r in ok:
        by_page.setdefault(r[1], []).append(r[2])
    print(f"\n{'page':<24} {'loads':>6} {'p50 (s)':>8} {'p95 (s)':>8}")
    for label, values in sorted(by_page.items()):
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"{label:<24} {len(values):>6} {statistics.median(values):>8.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
