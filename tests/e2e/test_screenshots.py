"""Pictures of the board, the drawer, the escalate dialog and home, for the PR and the docs.

Board, drawer and home at 1440 px and at a 390 px phone, in light and dark:
``<page>-<width>-<scheme>.png`` in SCREENSHOT_DIR. Each picture also checks
the thing a person would notice first: nothing wider than the screen.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from boards.models import Client, Note, Watch
from routing.models import BounceFlag
from tests.e2e.conftest import card, login, open_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {1440: 900, 390: 844}


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def _shoot(page, screenshot_dir, name: str) -> None:
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=path, full_page=False)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@pytest.fixture
def scene(desk, both, ticket_factory):
    acme = Client.objects.create(name="Acme Dental")
    lawyers = Client.objects.create(name="Hartley & Sons Solicitors LLP")
    ticket = ticket_factory(
        column="New", title="Replace the office router", priority=1, assignee=both, client=acme, description="Dead."
    )
    Note.objects.create(ticket=ticket, author=both, body="Router won't power on; checked the socket.")
    ticket_factory(column="New", title="Printer jams on every page", priority=3, client=lawyers)
    bouncing = ticket_factory(column="In progress", title="Reset my password", priority=2, assignee=both)
    BounceFlag.objects.create(
        ticket=bouncing, flagged_at=timezone.now(), reason="Triage → Support → Triage within 2 hours"
    )
    ticket_factory(column="Waiting on customer", title="Outlook keeps asking for a password", priority=4)
    ticket_factory(column="Resolved", title="New starter laptop", priority=3)
    ticket_factory(column="New", title="Supercalifragilisticexpialidocious-error-0x80070005-in-the-sync-client")
    away = ticket_factory(board=desk.support, column="New", tier=2, title="Core switch firmware", assignee=both)
    Watch.objects.create(ticket=away, user=both)
    return ticket


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 390])
def test_screenshots_of_board_drawer_and_home(page, live_server, scene, screenshot_dir, width, scheme):
    page.set_viewport_size({"width": width, "height": SIZES[width]})
    page.emulate_media(color_scheme=scheme)
    login(page, live_server, "alex")
    suffix = f"{width}-{scheme}"

    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"home-{suffix}")

    open_board(page, live_server, "triage")
    expect(card(page, scene)).to_be_visible()
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"board-{suffix}")

    card(page, scene).locator("a.card-title").click()
    expect(page.locator("aside#drawer ol.timeline")).to_be_visible()
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"drawer-{suffix}")


@pytest.mark.parametrize("width", [1440, 390])
def test_screenshots_of_search_and_all_resolved(page, live_server, scene, screenshot_dir, width):
    page.set_viewport_size({"width": width, "height": SIZES[width]})
    login(page, live_server, "alex")
    page.locator(".topsearch input").fill("password")
    page.locator(".topsearch input").press("Enter")
    expect(page.locator(".ticket-table")).to_be_visible()
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"search-{width}-light")
    page.goto(f"{live_server.url}/boards/triage/done/")
    expect(page.locator(".done-filters")).to_be_visible()
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"resolved-{width}-light")


def test_screenshot_of_the_escalate_dialog(page, live_server, scene, screenshot_dir):
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "alex")
    open_board(page, live_server, "triage")
    card(page, scene).get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator("dialog#move-dialog[open]")).to_be_visible()
    _shoot(page, screenshot_dir, "escalate-dialog")
