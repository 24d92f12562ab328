"""Browser-test helpers: a real `streamlit run` server, headless Chromium, signing in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import chromium_path, require_or_skip

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free loopback port against one SQLite file (or a URL)."""

    def __init__(
        self,
        db_file: Path | None,
        log: Path,
        database_url: str | None = None,
        *,
        port: int | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.db = db_file
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "STRATA_DATABASE_URL": database_url or f"sqlite:///{db_file}",
            **(env or {}),
        }
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not start; log:\n{log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    exe = chromium_path()
    if exe is None:
        require_or_skip("Chromium is not installed (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed (requirements-dev.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login_form_only(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("textbox", name="Password")).to_be_visible()
    # Elements of the previous run linger until the new run finishes: wait them out.
    for selector in ('[data-testid="stMetric"]', '[data-testid="stDataFrame"]', ".js-plotly-plot"):
        expect(page.locator(selector)).to_have_count(0, timeout=30_000)


def _login(page, user: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill("strata-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("stSidebar").get_by_role("link").first).to_be_visible(timeout=30_000)
    # The login cookie is set by a component after the first run: wait for it before
    # navigating by URL, or the next page would rightly ask to sign in again.
    deadline = time.monotonic() + 30
    while not any(c["name"] == "strata_session" for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the session cookie was never set"
        page.wait_for_timeout(200)


def signed_in_page(browser, base_url: str, user: str):
    """A new browser context signed in as ``user`` with the English interface."""
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(base_url)
    _login_form_only(page)
    _login(page, user)
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    return context, page
