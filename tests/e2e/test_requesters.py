"""A requester and a technician in Chromium: the request form, a customer note, the status page.

The requester opens a ticket through the public form; the acknowledgement
(Django's test outbox: the live server runs in this process) carries the
status link; a technician answers from the ticket page with a customer note
and adds an internal one; the status page shows the answer and never the
internal note. Light and dark screenshots of the form and the status page,
at a laptop and a phone width: ``requester-<page>-<width>-<scheme>.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from boards.models import Ticket
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {1440: 900, 390: 844}


def _shoot(page: Page, screenshot_dir, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than the screen"
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def _csp_watch(page: Page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def test_a_request_from_the_form_is_answered_on_the_status_page(
    browser: Browser, live_server, desk, tier1, screenshot_dir
):
    # The requester, signed in nowhere.
    requester = browser.new_context()
    form = requester.new_page()
    violations = _csp_watch(form)
    form.goto(f"{live_server.url}/help/")
    form.get_by_label("Your name").fill("Pat Requester")
    form.get_by_label("Your email").fill("pat@northwind.example")
    form.get_by_label("Subject").fill("Can't print to the 3rd floor printer")
    form.get_by_label("What happened?").fill("It says offline since this morning.")
    form.get_by_label("Attachment").set_input_files(
        files=[{"name": "printer-status.txt", "mimeType": "text/plain", "buffer": b"Offline since 08:02"}]
    )
    form.get_by_role("button", name="Send request").click()
    expect(form.get_by_role("heading", name="Thank you: your request is in")).to_be_visible()

    ticket = Ticket.objects.get()
    assert (ticket.board, ticket.requester_email) == (desk.triage, "pat@northwind.example")
    [ack] = mail.outbox
    status_url = re.search(r"http://\S+/help/status/\S+/", ack.body).group(0)
    status_path = status_url.split("/help/", 1)[1]

    # The technician answers from the ticket page, and notes something for the desk only.
    technician = browser.new_context()
    desk_page = technician.new_page()
    login(desk_page, live_server, "tess")
    desk_page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    note_form = desk_page.locator("form.ticket-note")
    note_form.locator("textarea[name=body]").fill("The printer was paused; it is printing again.")
    note_form.locator("input[name=internal]").uncheck()
    note_form.get_by_role("button", name="Add note").click()
    expect(desk_page.locator(".event.note.public").first).to_contain_text("it is printing again")
    note_form = desk_page.locator("form.ticket-note")
    note_form.locator("textarea[name=body]").fill("Driver on the print server is old; upgrade next week.")
    note_form.get_by_role("button", name="Add note").click()
    expect(desk_page.locator(".event.note.internal").first).to_contain_text("upgrade next week")
    assert [m.subject for m in mail.outbox] == [ack.subject, f"Re: [#{ticket.pk}] Can't print to the 3rd floor printer"]
    # The requester's file, downloadable from the drawer.
    with desk_page.expect_download() as download:
        desk_page.locator(".requester-files a", has_text="printer-status.txt").click()
    assert download.value.suggested_filename == "printer-status.txt"
    assert Path(download.value.path()).read_bytes() == b"Offline since 08:02"
    for scheme in ("light", "dark"):
        desk_page.set_viewport_size({"width": 1440, "height": 900})
        desk_page.emulate_media(color_scheme=scheme)
        desk_page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
        _shoot(desk_page, screenshot_dir, f"requester-drawer-1440-{scheme}")

    # The requester follows the link from the mail.
    status = requester.new_page()
    violations += _csp_watch(status)
    status.goto(f"{live_server.url}/help/{status_path}")
    expect(status.get_by_role("heading", name="Can't print to the 3rd floor printer")).to_be_visible()
    answer = status.locator(".requester-event.note")
    expect(answer).to_contain_text("Tess from the service desk")
    expect(answer).to_contain_text("The printer was paused; it is printing again.")
    expect(status.locator("body")).not_to_contain_text("upgrade next week")
    expect(status.locator("body")).not_to_contain_text("Triage")

    # And says thanks, then marks it solved.
    status.get_by_label("Reply").fill("Thanks, it works!")
    status.get_by_role("button", name="Send reply").click()
    expect(status.get_by_text("Your reply was added.")).to_be_visible()
    expect(status.locator(".requester-event.yours")).to_contain_text("Thanks, it works!")
    status.get_by_role("button", name="It's solved, close my request").click()
    expect(status.locator(".requester-state")).to_have_text("Solved")
    ticket.refresh_from_db()
    assert not ticket.is_open
    assert violations == []

    # Pictures of both pages.
    for scheme in ("light", "dark"):
        for width, height in SIZES.items():
            for page, url, name in (
                (form, f"{live_server.url}/help/", "form"),
                (status, f"{live_server.url}/help/{status_path}", "status"),
            ):
                page.set_viewport_size({"width": width, "height": height})
                page.emulate_media(color_scheme=scheme)
                page.goto(url)
                _shoot(page, screenshot_dir, f"requester-{name}-{width}-{scheme}")
    # Closed here, while the live server still runs: a connection Chromium keeps
    # open past the test would be closed by a server thread during teardown.
    technician.close()
    requester.close()
