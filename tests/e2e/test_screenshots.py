"""Pictures of the board, the escalate dialog and the drawer for the PR and the docs."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import card, login, open_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_screenshots_of_board_dialog_and_drawer(page, live_server, desk, both, ticket_factory, screenshot_dir):
    ticket = ticket_factory(column="New", title="Replace the office router", priority=1, assignee=both)
    ticket_factory(column="New", title="Printer jams on every page", priority=3)
    ticket_factory(column="In progress", title="Reset my password", priority=2, assignee=both)
    ticket_factory(column="Waiting on customer", title="Outlook keeps asking for a password", priority=4)
    ticket_factory(column="Resolved", title="New starter laptop", priority=3)
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "alex")
    open_board(page, live_server, "triage")

    expect(card(page, ticket)).to_be_visible()
    page.screenshot(path=screenshot_dir / "board.png", full_page=True)

    card(page, ticket).get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator("dialog#move-dialog[open]")).to_be_visible()
    page.screenshot(path=screenshot_dir / "escalate-dialog.png")
    page.reload()
    expect(page.locator("dialog#move-dialog")).to_have_count(0)

    card(page, ticket).locator("a.card-title").click()
    expect(page.locator("aside#drawer ol.timeline")).to_be_visible()
    page.screenshot(path=screenshot_dir / "drawer.png")

    for name in ("board.png", "escalate-dialog.png", "drawer.png"):
        assert (screenshot_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
