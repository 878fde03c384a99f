"""The bell in Chromium: a technician sees the count, opens the list by keyboard, and it is marked read.

Pictures of the bell with its count and of the open list, at 1440 px and a 390 px phone, light and
dark: ``bell-<width>-<scheme>.png`` and ``notifications-<width>-<scheme>.png`` in SCREENSHOT_DIR.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from boards.models import Client
from notifications.models import Notification
from notifications.warnings import send_due_warnings
from routing import services
from tests.e2e.conftest import login
from tests.e2e.test_screenshots import SIZES, _no_sideways_scroll, _shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def warned(desk, both, ticket_factory):
    """Alex works Triage: three tickets near Tier 1's limit, one since escalated to a board she also works."""
    limit = desk.criteria["Tier 1 time limit"]
    limit.warn_before_minutes = 10
    limit.save()
    opened = timezone.now() - timedelta(minutes=24)
    acme = Client.objects.create(name="Acme Dental")
    tickets = [
        ticket_factory(column="New", now=opened, title="Replace the office router", priority=1, client=acme),
        ticket_factory(column="New", now=opened, title="Reset my password", assignee=both),
        ticket_factory(
            column="New", now=opened, title="Supercalifragilisticexpialidocious-error-0x80070005-in-the-sync-client"
        ),
    ]
    assert send_due_warnings() == 3
    services.move_ticket(tickets[2], actor=both, expected_version=None, criterion=desk.criteria["Needs onsite visit"])
    return tickets


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 390])
def test_a_technician_opens_the_bell_and_its_warnings_are_marked_read(
    page, live_server, warned, both, screenshot_dir, width, scheme
):
    page.set_viewport_size({"width": width, "height": SIZES[width]})
    page.emulate_media(color_scheme=scheme)
    login(page, live_server, "alex")

    count = page.locator("#bell-count")
    expect(count).to_have_text("3 unread")
    expect(count).to_be_visible()
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"bell-{width}-{scheme}")

    # By keyboard: the bell is a <summary>, so Enter opens it.
    page.locator("#bell summary").focus()
    page.keyboard.press("Enter")
    panel = page.locator("#bell-panel")
    expect(panel.locator(".notif")).to_have_count(3)
    expect(panel).to_contain_text("Replace the office router")
    expect(panel).to_contain_text("No longer applies: the ticket moved to Support.")
    expect(count).to_have_class(re.compile(r"\bnone\b"))
    assert not Notification.objects.filter(user=both).unread().exists()

    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    _no_sideways_scroll(page)
    _shoot(page, screenshot_dir, f"notifications-{width}-{scheme}")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.locator("#bell summary")).to_be_focused()
