"""Resolve with a resolution note, reopen, the resolved list's filters, and search from the top bar."""

import pytest
from playwright.sync_api import expect

from boards.models import Client, Note, Ticket
from tests.e2e.conftest import card, column, login, open_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_resolve_with_a_note_then_reopen_on_the_same_board(page, live_server, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="In progress", title="Printer offline")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")
    card(page, ticket).locator("a.card-title").click()
    drawer = page.locator("aside#drawer")

    drawer.get_by_text("✓ Resolve…").click()
    drawer.get_by_label("Resolution").fill("Power cycled; driver reinstalled.")
    drawer.locator(".resolve-form").get_by_label("Internal (hidden from the customer)").uncheck()
    drawer.get_by_role("button", name=f"✓ Resolve #{ticket.pk}").click()

    expect(column(page, "Resolved").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    entry = drawer.locator("ol.timeline > li.note").first
    expect(entry).to_contain_text("Resolution")
    expect(entry).to_contain_text("Note to customer")
    expect(entry).to_contain_text("Power cycled; driver reinstalled.")
    note = Note.objects.get(ticket=ticket)
    assert note.resolution and not note.internal

    drawer.get_by_role("button", name="↺ Reopen on Triage").click()
    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    reopened = Ticket.objects.select_related("column").get(pk=ticket.pk)
    assert reopened.resolved_at is None and reopened.column.name == "In progress"


def test_all_resolved_tickets_page_filters(page, live_server, desk, tier1, ticket_factory):
    done = desk.triage.columns.get(name="Resolved")
    printer = ticket_factory(column=done, title="Printer toner")
    ticket_factory(column=done, title="VPN drops")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")

    page.get_by_role("link", name="All resolved tickets →").click()
    expect(page.locator("h1")).to_have_text("Resolved on Triage")
    page.locator(".done-filters input[name=q]").fill("printer")
    page.locator(".done-filters").get_by_role("button", name="Filter").click()

    rows = page.locator(".ticket-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Printer toner")
    rows.get_by_role("link", name="Printer toner").click()
    expect(page.locator("aside#drawer")).to_contain_text("Printer toner")
    assert printer.pk


def test_search_from_the_top_bar_finds_a_ticket_on_another_board_by_note_or_client(
    page, live_server, desk, both, ticket_factory
):
    acme = Client.objects.create(name="Acme Dental")
    on_support = ticket_factory(board=desk.support, tier=2, title="Switch firmware", client=acme)
    noted = ticket_factory(title="Slow laptop")
    Note.objects.create(ticket=noted, author=both, body="Found a failing SSD")
    login(page, live_server, "alex")

    search = page.locator(".topsearch input[type=search]")
    search.fill("acme")
    search.press("Enter")
    expect(page.locator(f"#result-{on_support.pk}")).to_contain_text("Support")

    search = page.locator(".topsearch input[type=search]")
    expect(search).to_have_value("acme")
    search.fill("ssd")
    search.press("Enter")
    result = page.locator(f"#result-{noted.pk}")
    expect(result).to_be_visible()
    result.get_by_role("link", name="Slow laptop").click()
    expect(page.locator("aside#drawer")).to_contain_text("Found a failing SSD")

    search = page.locator(".topsearch input[type=search]")
    search.fill(f"#{on_support.pk}")
    search.press("Enter")
    expect(page.locator(".ticket-table tbody tr")).to_have_count(1)
