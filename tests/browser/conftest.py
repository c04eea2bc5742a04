"""Fixtures for the browser tests: the built site served on 127.0.0.1 and headless
Chromium driven by Playwright.

The browser is the SYSTEM chromium (Debian package ``chromium``, /usr/bin/chromium), never
a Playwright download. Playwright's ``launch`` starts it with a fresh temporary
user-data-dir every time (it refuses a ``--user-data-dir`` argument; a persistent profile
needs ``launch_persistent_context``), so no state leaks between runs.

Skips: the tests skip, naming the reason, when the site is not built (run ``make book``)
or when Chromium or Playwright is missing. With ``DSL_REQUIRE_BROWSER=1`` (set by
``make browser-test`` and therefore by ``.ci/run``) every such skip is a failure instead,
and the session fails if any browser test was skipped for any reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("DSL_SITE_DIR", ROOT / "_build" / "html"))
SCREENSHOTS = Path(os.environ.get("DSL_SCREENSHOT_DIR", ROOT / "_build" / "screenshots"))
CHROMIUM = os.environ.get("DSL_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("DSL_REQUIRE_BROWSER", "") == "1"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

_skipped: list[str] = []


def skip_or_fail(reason: str):
    """Skip with ``reason``; fail instead when the browser tests are required (CI)."""
    if REQUIRED:
        pytest.fail(f"DSL_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_logreport(report):
    if report.skipped and "tests/browser" in report.nodeid.replace("\\", "/"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if REQUIRED and _skipped and session.exitstatus == 0:
        print(f"\nDSL_REQUIRE_BROWSER=1 but {len(_skipped)} browser test(s) were skipped: "
              f"{_skipped[:5]}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").exists():
        skip_or_fail(f"the site is not built: {SITE / 'index.html'} is missing "
                     "(run `make book` first)")
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


@pytest.fixture(scope="session")
def base_url(site_dir):
    """http://127.0.0.1:<free port>/ serving ``site_dir`` from a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(site_dir):
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (requirements.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """A fresh folder for this run's screenshots."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
