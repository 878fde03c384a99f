"""The kanban board: drag, keyboard, live updates, and who may move what."""

from datetime import datetime

import pytest
from playwright.sync_api import expect

from boards.models import Client, Ticket
from routing import services
from tests.e2e.conftest import card, column, csrf_token, is_move_post, login, open_board
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dragging_a_card_to_another_column_moves_the_ticket(page, live_server, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="New", title="Printer jams on every page")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")
    expect(column(page, "New").locator(f"#ticket-{ticket.pk}")).to_be_visible()

    with page.expect_response(is_move_post(ticket.pk)) as moved:
        card(page, ticket).drag_to(column(page, "In progress").locator("ol.cards"))
    assert moved.value.ok, moved.value.status

    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"
    assert ticket.version == 2

    page.reload()
    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    expect(column(page, "New").locator(f"#ticket-{ticket.pk}")).to_have_count(0)


def test_shift_arrow_keys_move_the_focused_card_between_columns(page, live_server, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="New", title="Reset my password")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")

    card(page, ticket).focus()
    with page.expect_response(is_move_post(ticket.pk)) as moved:
        page.keyboard.press("Shift+ArrowRight")
    assert moved.value.ok, moved.value.status
    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"

    page.reload()
    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()

    card(page, ticket).focus()
    with page.expect_response(is_move_post(ticket.pk)) as moved:
        page.keyboard.press("Shift+ArrowLeft")
    assert moved.value.ok, moved.value.status
    expect(column(page, "New").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.column.name == "New"


def test_an_open_board_shows_another_users_move_without_reloading(
    new_context, live_server, desk, tier1, ticket_factory
):
    make_user("tom", tier=1, boards=[desk.boards["triage"]], first_name="Tom", last_name="Teammate")
    ticket = ticket_factory(column="New", title="VPN drops every hour")
    mover, watcher = new_context().new_page(), new_context().new_page()
    login(mover, live_server, "tess")
    login(watcher, live_server, "tom")
    open_board(mover, live_server, "triage")
    open_board(watcher, live_server, "triage")
    expect(column(watcher, "New").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    # A full reload would lose this; an htmx swap keeps it.
    watcher.evaluate("window.__sameDocument = true")

    card(mover, ticket).focus()
    with mover.expect_response(is_move_post(ticket.pk)) as moved:
        mover.keyboard.press("Shift+ArrowRight")
    assert moved.value.ok, moved.value.status

    expect(column(watcher, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible(timeout=10_000)
    expect(column(watcher, "New").locator(f"#ticket-{ticket.pk}")).to_have_count(0)
    assert watcher.evaluate("window.__sameDocument === true"), "the watcher's page was reloaded"


def test_a_technician_cannot_move_tickets_on_a_board_they_do_not_work(page, live_server, desk, tier1, ticket_factory):
    support = desk.boards["support"]
    ticket = ticket_factory(board=support, column="New", tier=2, title="Install a new switch")
    login(page, live_server, "tess")  # works Triage only

    # Either the Support board refuses her, or it shows read-only: no drag, no move form, no criteria buttons.
    response = page.goto(f"{live_server.url}/boards/support/")
    refused = response.status in (403, 404)
    if not refused:
        assert response.status == 200, response.status
        shown = card(page, ticket)
        expect(shown).to_be_visible()
        expect(shown).not_to_have_attribute("draggable", "true")
        expect(shown.locator("form.card-move")).to_have_count(0)
        expect(shown.get_by_role("button", name="Escalate", exact=True)).to_have_count(0)
        expect(shown.get_by_role("button", name="De-escalate", exact=True)).to_have_count(0)

    # Nor can she move it by posting directly.
    target = support.columns.get(name="In progress")
    response = page.request.post(
        f"{live_server.url}/tickets/{ticket.pk}/move/",
        form={"column": str(target.pk), "version": str(ticket.version)},
        headers={"X-CSRFToken": csrf_token(page.context)},
        max_redirects=0,
    )
    assert response.status in ((403, 404) if refused else (403,)), response.status
    unchanged = Ticket.objects.get(pk=ticket.pk)
    assert (unchanged.column_id, unchanged.version) == (ticket.column_id, ticket.version)


def test_without_javascript_the_card_form_moves_the_ticket(new_context, live_server, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="New", title="Monitor flickers")
    page = new_context(java_script_enabled=False).new_page()
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")

    form = card(page, ticket).locator("form.card-move")
    in_progress = desk.boards["triage"].columns.get(name="In progress")
    form.locator("select[name=column]").select_option(value=str(in_progress.pk))
    form.get_by_role("button", name="Move", exact=True).click()

    expect(column(page, "In progress").locator(f"#ticket-{ticket.pk}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"


def test_a_card_shows_number_client_priority_tier_assignee_and_countdown(
    page, live_server, desk, tier1, ticket_factory
):
    acme = Client.objects.create(name="Acme Dental")
    ticket = ticket_factory(column="New", title="Scanner offline", client=acme, priority=2, assignee=tier1)
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")

    shown = card(page, ticket)
    expect(shown).to_have_attribute("data-ticket-id", str(ticket.pk))
    expect(shown).to_have_attribute("data-version", str(ticket.version))
    expect(shown).to_have_attribute("tabindex", "0")
    expect(shown.locator("a.card-title")).to_have_attribute("href", f"/tickets/{ticket.pk}/")
    for text in (f"#{ticket.pk}", "Scanner offline", "Acme Dental", "P2", "T1", "Tess Tier-One"):
        expect(shown).to_contain_text(text)
    deadline = shown.locator("span.countdown").get_attribute("data-deadline")
    assert datetime.fromisoformat(deadline) == ticket.deadline_at


def test_the_board_poll_answers_204_until_something_changes(page, live_server, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="New")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")
    revision = page.locator("#board-columns").get_attribute("data-revision")
    changes = f"{live_server.url}/boards/triage/changes/"
    htmx = {"HX-Request": "true"}

    assert page.request.get(f"{changes}?since={revision}", headers=htmx).status == 204
    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=ticket.version,
        to_column=desk.boards["triage"].columns.get(name="In progress"),
    )
    response = page.request.get(f"{changes}?since={revision}", headers=htmx)
    assert response.status == 200
    assert f'id="ticket-{ticket.pk}"' in response.text()
