"""Escalating a Triage ticket with a criterion, and following it to Support."""

import re

import pytest
from playwright.sync_api import expect

from boards.models import Ticket
from routing.models import Move
from tests.e2e.conftest import card, column, login, open_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ONSITE = re.compile(r"Needs onsite visit(?! \(from NOC\))")


def test_escalating_with_needs_onsite_visit_sends_the_ticket_to_support(page, live_server, desk, both, ticket_factory):
    ticket = ticket_factory(column="In progress", title="Replace the office router")
    login(page, live_server, "alex")
    open_board(page, live_server, "triage")

    card(page, ticket).get_by_role("button", name="Escalate", exact=True).click()
    dialog = page.locator("dialog#move-dialog[open]")
    expect(dialog).to_be_visible()
    choice = dialog.locator("label").filter(has_text=ONSITE)
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("Someone has to be there in person")
    expect(choice).to_contain_text("Support · Scheduled / Onsite · tier 2")
    # Only escalations that apply from Triage are offered.
    expect(dialog.locator("label").filter(has_text="User error discovered")).to_have_count(0)
    expect(dialog.locator("label").filter(has_text="Needs onsite visit (from NOC)")).to_have_count(0)

    choice.locator("input[name=criterion]").check()
    dialog.locator("textarea[name=note]").fill("Router is dead; needs a swap on site.")
    dialog.get_by_role("button", name="Escalate", exact=True).click()

    expect(page.locator(f"#board-columns #ticket-{ticket.pk}")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Support")
    moved = Ticket.objects.select_related("board", "column").get(pk=ticket.pk)
    assert (moved.board.slug, moved.tier) == ("support", 2)
    # Issue 9 (6): the criterion marks the ticket and it lands where onsite work is planned.
    assert moved.needs_onsite
    assert moved.column.name == "Scheduled / Onsite"
    move = Move.objects.filter(ticket=ticket).latest("pk")
    assert (move.criterion.name, move.actor.username) == ("Needs onsite visit", "alex")
    assert move.note == "Router is dead; needs a swap on site."

    page.locator('nav.board-tabs a[data-board-slug="support"]').click()
    expect(page).to_have_url(re.compile(r"/boards/support/"))
    page.wait_for_load_state()  # htmx has wired the card links before we click one
    arrived = column(page, "Scheduled / Onsite").locator(f"#ticket-{ticket.pk}")
    expect(arrived).to_be_visible()
    expect(arrived).to_contain_text("T2")
    # From Support it can come back down.
    expect(arrived.get_by_role("button", name="De-escalate", exact=True)).to_be_visible()

    arrived.locator("a.card-title").click()
    drawer = page.locator("aside#drawer")
    expect(drawer).to_contain_text("Replace the office router")
    entry = drawer.locator("ol.timeline > li").filter(has_text=ONSITE)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Alex Both-Boards")
    expect(drawer.locator(".badges .badge.onsite")).to_be_visible()
    drawer.get_by_text("Assign, tier and facts").click()
    expect(drawer.get_by_label("Needs an onsite visit")).to_be_checked()


def test_the_dialog_says_so_when_no_criterion_applies(page, live_server, desk, both, ticket_factory):
    ticket = ticket_factory(column="New", title="Mouse double-clicks")
    login(page, live_server, "alex")
    # Triage has no de-escalation criteria: the button is absent and the dialog, asked directly, says so.
    open_board(page, live_server, "triage")
    expect(card(page, ticket).get_by_role("button", name="De-escalate", exact=True)).to_have_count(0)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/de-escalate/")
    dialog = page.locator("dialog#move-dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=criterion]")).to_have_count(0)
    expect(dialog).to_contain_text(re.compile(r"\bno\b.*\bcriteri", re.IGNORECASE))


def test_dropping_a_card_on_another_boards_tab_offers_only_criteria_leading_there(
    page, live_server, desk, both, ticket_factory
):
    ticket = ticket_factory(column="New", title="Laptop will not dock")
    login(page, live_server, "alex")
    open_board(page, live_server, "triage")

    card(page, ticket).drag_to(page.locator('nav.board-tabs a[data-board-slug="support"]'))

    dialog = page.locator("dialog#move-dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Support")
    expect(dialog.locator("label").filter(has_text="Beyond this tier")).to_have_count(1)
    # Nothing that leads elsewhere, and the time limit is never offered by hand.
    expect(dialog.locator("label").filter(has_text="User-facing follow-up")).to_have_count(0)
    expect(dialog.locator("label").filter(has_text="Tier 1 time limit")).to_have_count(0)

    dialog.locator("label").filter(has_text="Beyond this tier").locator("input[name=criterion]").check()
    dialog.locator("button[type=submit]").click()

    expect(page.locator(f"#board-columns #ticket-{ticket.pk}")).to_have_count(0)
    moved = Ticket.objects.select_related("board").get(pk=ticket.pk)
    assert (moved.board.slug, moved.tier) == ("support", 2)
    assert Move.objects.filter(ticket=ticket).latest("pk").criterion.name == "Beyond this tier"
