"""Browser tests: real Chromium (Debian's /usr/bin/chromium) against live_server.

Playwright never downloads a browser here; we point it at the system one. When
that binary is missing the browser tests are skipped with the reason, except
under REQUIRE_SERVICES (CI), where a missing browser is a failure.

Data is written through the factories in the test thread; the live server sees
it because live_server makes every test transactional (on SQLite's in-memory
test database pytest-django hands the server thread the same connection).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import REQUIRE_SERVICES
from tests.factories import PASSWORD, make_user

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]

# Records Content Security Policy violations as the page sees them, from before any of its scripts run.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""

# Chromium flags for a container without a sandbox, GPU or network beyond localhost.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options (--headed, --slowmo…), on the system Chromium."""
    if not CHROMIUM.exists():
        message = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where `make test` wants the PNGs (SCREENSHOT_DIR), else test-artifacts/screenshots."""
    path = Path(os.environ.get("SCREENSHOT_DIR") or REPO / "test-artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _close_browser_contexts(request) -> Iterator[None]:
    """Close every browser context a test opened with ``browser.new_context()`` and left open.

    The browser lives for the session; a page left open keeps polling its
    board every few seconds into later tests, on whatever data they hold.
    (Contexts from the ``page``, ``context`` and ``new_context`` fixtures close
    themselves.) Torn down before ``_live_server_settles`` (tests/conftest.py),
    which then waits for the server to finish their last requests.
    """
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    yield
    for context in browser.contexts:
        context.close()


@pytest.fixture(autouse=True)
def _expect_timeout():
    # The board polls every 3 s; a few seconds covers any swap on a slow CI box.
    expect.set_options(timeout=8_000)


@pytest.fixture
def watched(page: Page) -> Page:
    """The page, with every Content Security Policy violation recorded (see ``assert_no_csp_violations``)."""
    complaints: list[str] = []
    page.on("console", lambda msg: complaints.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    page.complaints = complaints
    return page


def assert_no_csp_violations(page: Page) -> None:
    """Neither the page's violation events nor its console reported a Content Security Policy violation."""
    assert page.evaluate("window.__csp") == []
    assert page.complaints == []


@pytest.fixture
def both(desk):
    """A tier 2 technician who works Triage and Support: can escalate and follow the ticket."""
    return make_user(
        "alex",
        tier=2,
        boards=[desk.boards["triage"], desk.boards["support"]],
        first_name="Alex",
        last_name="Both-Boards",
    )


def login(page: Page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form and wait for the redirect home."""
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def open_board(page: Page, live_server, slug: str) -> None:
    page.goto(f"{live_server.url}/boards/{slug}/")
    expect(page.locator("#board-columns")).to_be_visible()


def column(page: Page, name: str):
    return page.locator(f'section.column[data-column-name="{name}"]')


def card(page: Page, ticket):
    return page.locator(f"#ticket-{ticket.pk}")


def is_move_post(pk: int):
    """Matches the response to POST /tickets/<pk>/move/."""
    path = re.compile(rf"/tickets/{pk}/move/?$")
    return lambda response: response.request.method == "POST" and bool(path.search(response.url.split("?")[0]))


def csrf_token(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
