"""The ticket drawer: details, the timeline, notes, assign, tier, facts and resolve."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from boards.models import Note, Skill, Ticket
from routing import services
from routing.models import Move
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}


def _drawer_open_on(pk: int) -> dict:
    return {**ON_TRIAGE, "X-Drawer-Ticket": str(pk)}


def _timeline(body: str) -> list[str]:
    timeline = body.split('<ol class="timeline">')[1].split("</ol>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip() for li in timeline.split("<li")[1:]]


# --- Viewing ------------------------------------------------------------------------------


def test_drawer_is_a_partial_for_htmx_and_a_page_otherwise(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Laptop won't boot", description="Since Monday.\nBlue screen.")
    client.force_login(tier1)
    url = reverse("ticket", args=[ticket.pk])

    partial = client.get(url, headers=ON_TRIAGE).content.decode()
    page = client.get(url).content.decode()

    assert partial.lstrip().startswith(f'<div class="drawer-body" data-ticket-id="{ticket.pk}"')
    assert "<html" not in partial and "Laptop won&#x27;t boot" in partial
    assert "Since Monday.<br>Blue screen." in partial
    assert "<html" in page and '<aside id="drawer" class="drawer drawer-page"' in page


def test_timeline_merges_moves_and_notes_with_criterion_and_actor(client, desk, tier1, ticket_factory):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory(actor=tier1)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        Note.objects.create(ticket=ticket, author=tier1, body="Rebooted the router", minutes_worked=10)
    services.sweep(NOW + timedelta(minutes=30))  # the scheduler escalates it to Support
    sam = make_user("sam", tier=2, boards=[desk.support], first_name="Sam", last_name="Support")
    client.force_login(sam)

    body = client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).content.decode()

    entries = _timeline(body)
    assert len(entries) == 3  # newest first
    assert "Escalate Triage → Support · New · tier 1 → 2" in entries[0]
    assert "Tier 1 time limit" in entries[0] and "by the scheduler" in entries[0]
    assert "Internal note · 10 min worked" in entries[1] and "Rebooted the router" in entries[1]
    assert "by Tess Tier-One" in entries[1]
    assert "Opened on Triage · New" in entries[2] and "by Tess Tier-One" in entries[2]


def test_user_text_in_the_drawer_is_escaped(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="<script>t()</script>", description="<img src=x onerror=d()>")
    Note.objects.create(ticket=ticket, author=tier1, body="<script>n()</script>")
    client.force_login(tier1)

    body = client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).content.decode()

    assert "<script>" not in body and "<img" not in body
    assert "&lt;script&gt;t()&lt;/script&gt;" in body and "&lt;script&gt;n()&lt;/script&gt;" in body


def test_another_boards_ticket_is_404(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(tier1)
    assert client.get(reverse("ticket", args=[ticket.pk])).status_code == 404
    assert client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).status_code == 404


def test_my_ticket_on_another_board_is_read_only(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support, assignee=tier1)
    client.force_login(tier1)

    body = client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).content.decode()

    assert "Read only" in body
    for control in ("ticket-update", "ticket-note", "Resolve", ">Escalate<", ">De-escalate<"):
        assert control not in body


def test_drawer_offers_the_controls_on_my_board(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    body = client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).content.decode()
    for control in ('class="ticket-update', 'class="ticket-note', "✓ Resolve", ">Escalate<", "Assign to me"):
        assert control in body
    assert ">De-escalate<" not in body


def test_drawer_refuses_post(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.post(reverse("ticket", args=[ticket.pk])).status_code == 405


# --- Notes -----------------------------------------------------------------------------------


def test_adding_a_note_refreshes_the_open_drawer(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_note", args=[ticket.pk]),
        {"body": "Called the user back", "minutes_worked": "15"},
        headers=_drawer_open_on(ticket.pk),
    )

    note = Note.objects.get(ticket=ticket)
    assert (note.author, note.body, note.internal, note.minutes_worked) == (tier1, "Called the user back", False, 15)
    body = response.content.decode()
    assert "Customer-visible note added" in body
    assert '<aside id="drawer" hx-swap-oob="innerHTML">' in body
    assert "Note to customer · 15 min worked" in _timeline(body)[0]


def test_internal_note_without_javascript(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_note", args=[ticket.pk]),
        {"body": "Internal only", "internal": "1", "minutes_worked": "0", "next": f"/tickets/{ticket.pk}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert Note.objects.get(ticket=ticket).internal is True


def test_empty_note_is_refused(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(reverse("ticket_note", args=[ticket.pk]), {"body": "  "}, headers=ON_TRIAGE)
    assert '<p class="message error">' in response.content.decode()
    assert not Note.objects.exists()


def test_note_on_another_boards_ticket_is_403(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(tier1)
    assert client.post(reverse("ticket_note", args=[ticket.pk]), {"body": "hi"}).status_code == 403
    assert not Note.objects.exists()


def test_note_refuses_get(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(reverse("ticket_note", args=[ticket.pk])).status_code == 405


# --- Assign, tier and facts --------------------------------------------------------------------


def test_assign_to_me(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_update", args=[ticket.pk]),
        {"assign_to_me": "1", "version": ticket.version},
        headers=_drawer_open_on(ticket.pk),
    )

    ticket.refresh_from_db()
    assert ticket.assignee == tier1 and ticket.version == 1  # not a move
    body = response.content.decode()
    assert f"#{ticket.pk} saved: assignee." in body
    card = body.split(f'id="ticket-{ticket.pk}"')[1].split("</article>")[0]
    assert "Tess Tier-One" in card


def test_assign_to_a_technician_of_this_board_only(client, desk, tier1, tier2, ticket_factory):
    colleague = make_user("cole", boards=[desk.triage], first_name="Cole")
    ticket = ticket_factory()
    client.force_login(tier1)
    url = reverse("ticket_update", args=[ticket.pk])

    client.post(url, {"assignee": tier2.pk, "version": 1}, headers=ON_TRIAGE)  # Sam does not work Triage
    assert Ticket.objects.get(pk=ticket.pk).assignee is None

    client.post(url, {"assignee": colleague.pk, "version": 1}, headers=ON_TRIAGE)
    assert Ticket.objects.get(pk=ticket.pk).assignee == colleague


def test_tier_change_goes_through_the_move_service(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)

    client.post(reverse("ticket_update", args=[ticket.pk]), {"tier": "2", "version": 1}, headers=ON_TRIAGE)

    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier, ticket.version) == (desk.triage, 2, 2)
    move = Move.objects.latest("pk")
    assert (move.from_tier, move.to_tier, move.actor, move.direction) == (1, 2, tier1, "escalate")


def test_needs_onsite_fires_the_condition_and_the_card_leaves(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(assignee=tier1)
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_update", args=[ticket.pk]),
        {"facts": "1", "needs_onsite": "1", "tier": "1", "assignee": tier1.pk, "version": 1},
        headers=_drawer_open_on(ticket.pk),
    )

    ticket.refresh_from_db()
    assert ticket.needs_onsite and (ticket.board, ticket.tier) == (desk.support, 2)
    move = Move.objects.latest("pk")
    assert (move.criterion.name, move.actor) == ("Needs onsite visit", tier1)
    body = response.content.decode()
    assert (
        '<p class="message warning">' in body
        and "escalated to Support · Scheduled / Onsite (tier 2): Needs onsite visit." in body
    )
    columns = body.split('<div id="board-columns"')[1].split('<aside id="drawer"')[0]
    assert f'id="ticket-{ticket.pk}"' not in columns
    # Still hers, so the drawer shows where it went and the move that took it there.
    assert "Needs onsite visit" in _timeline(body)[0]


def test_required_skill_nobody_on_the_board_has_fires_the_condition(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    firewall = Skill.objects.get(name="Firewall")
    client.force_login(tier1)

    client.post(
        reverse("ticket_update", args=[ticket.pk]),
        {"facts": "1", "required_skills": [firewall.pk], "version": 1},
        headers=ON_TRIAGE,
    )

    ticket.refresh_from_db()
    assert list(ticket.required_skills.all()) == [firewall]
    assert ticket.board == desk.support
    assert Move.objects.latest("pk").criterion.name == "Needs a specialized skill or tool"


def test_unticking_a_fact_needs_the_full_form(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support, needs_onsite=True)
    sam = make_user("sam", tier=2, boards=[desk.support])
    client.force_login(sam)
    url = reverse("ticket_update", args=[ticket.pk])

    client.post(url, {"assign_to_me": "1", "version": ticket.version})
    assert Ticket.objects.get(pk=ticket.pk).needs_onsite is True
    client.post(url, {"facts": "1", "version": ticket.version})
    assert Ticket.objects.get(pk=ticket.pk).needs_onsite is False


def test_stale_update_is_a_conflict_and_changes_nothing(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    rival = make_user("riley", boards=[desk.triage], first_name="Riley", last_name="Rival")
    services.move_ticket(
        ticket.pk, actor=rival, expected_version=1, to_column=desk.triage.columns.get(name="In progress")
    )
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_update", args=[ticket.pk]),
        {"facts": "1", "needs_onsite": "1", "assign_to_me": "1", "version": 1},
        headers=ON_TRIAGE,
    )

    assert f"#{ticket.pk} was just moved by Riley Rival to Triage · In progress." in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.needs_onsite, ticket.board, ticket.version) == (None, False, desk.triage, 2)


def test_update_on_another_boards_ticket_is_403(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(tier1)
    response = client.post(reverse("ticket_update", args=[ticket.pk]), {"assign_to_me": "1", "version": 1})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_update_refuses_get(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(reverse("ticket_update", args=[ticket.pk])).status_code == 405


# --- Resolve ------------------------------------------------------------------------------------


def test_resolve_moves_to_the_done_column(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_resolve", args=[ticket.pk]), {"version": 1}, headers=_drawer_open_on(ticket.pk)
    )

    ticket.refresh_from_db()
    assert ticket.column.name == "Resolved" and ticket.resolved_at is not None
    assert (Move.objects.latest("pk").to_column.name, Move.objects.latest("pk").actor) == ("Resolved", tier1)
    body = response.content.decode()
    assert f"#{ticket.pk} resolved." in body
    assert "Resolved: New → Resolved" in _timeline(body)[0]


def test_resolve_on_another_boards_ticket_is_403(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(tier1)
    assert client.post(reverse("ticket_resolve", args=[ticket.pk]), {"version": 1}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).resolved_at is None


@pytest.mark.parametrize("name", ["ticket_resolve", "ticket_update", "ticket_note", "ticket_move"])
def test_writes_on_my_ticket_that_left_my_board_are_403(client, desk, tier1, ticket_factory, name):
    ticket = ticket_factory(board=desk.support, assignee=tier1)
    client.force_login(tier1)
    assert client.post(reverse(name, args=[ticket.pk]), {"version": 1, "body": "x"}).status_code == 403


def test_resolve_refuses_get(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(reverse("ticket_resolve", args=[ticket.pk])).status_code == 405
