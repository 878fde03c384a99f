"""Escalate, de-escalate, transfer: the dialog lists only the criteria that apply, and the move names them."""

import re

import pytest
from django.urls import reverse

from routing import services
from routing.models import Move
from tests.factories import make_user

ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}
ON_SUPPORT = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/support/"}


def _criteria_names(body: str) -> list[str]:
    return re.findall(r'<strong class="criterion-name">(.*?)</strong>', body)


def test_escalate_dialog_lists_only_criteria_from_this_board_and_tier(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)

    response = client.get(reverse("ticket_criteria", args=[ticket.pk, "escalate"]), headers=ON_TRIAGE)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<dialog id="move-dialog" class="move-dialog" open')
    assert _criteria_names(body) == ["Needs onsite visit", "Needs a specialized skill or tool", "Beyond this tier"]
    assert "Tier 1 time limit" not in body  # fired by the scheduler, never offered by hand
    assert "Someone has to be there in person" in body  # each with its description
    assert body.count('type="radio" name="criterion"') == 3
    assert '<textarea name="note"' in body
    assert re.search(r'<button type="submit" class="primary[^"]*">Escalate</button>', body)


def test_de_escalate_dialog_on_support(client, desk, tier2, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    client.force_login(tier2)
    body = client.get(reverse("ticket_criteria", args=[ticket.pk, "de-escalate"]), headers=ON_SUPPORT).content.decode()
    assert _criteria_names(body) == ["Onsite complete", "User error discovered"]
    assert re.search(r">De-escalate</button>", body)


def test_dialog_says_so_when_no_criterion_applies(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    body = client.get(reverse("ticket_criteria", args=[ticket.pk, "de-escalate"]), headers=ON_TRIAGE).content.decode()
    assert _criteria_names(body) == []
    assert "No de-escalate criterion applies to a tier 1 ticket on Triage." in body
    assert 'type="submit"' not in body


def test_drop_on_a_tab_offers_only_criteria_leading_to_that_board(client, desk, tier2, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    client.force_login(tier2)
    url = reverse("ticket_criteria", args=[ticket.pk, "transfer"])

    to_noc = client.get(url, {"to": "noc"}, headers=ON_SUPPORT).content.decode()
    to_triage = client.get(url, {"to": "triage"}, headers=ON_SUPPORT).content.decode()

    assert _criteria_names(to_noc) == ["Onsite complete"]
    assert "De-escalate → NOC · tier 1" in to_noc and ">De-escalate</button>" in to_noc
    assert 'name="to" value="noc"' in to_noc
    assert _criteria_names(to_triage) == ["User error discovered"]


def test_drop_on_a_tab_with_no_criterion_says_so(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    body = client.get(
        reverse("ticket_criteria", args=[ticket.pk, "transfer"]), {"to": "noc"}, headers=ON_TRIAGE
    ).content.decode()
    assert "No criterion leads from Triage to NOC" in body and _criteria_names(body) == []


def test_escalating_moves_the_ticket_and_says_where_and_why(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Server on fire")
    beyond = desk.criteria["Beyond this tier"]
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]),
        {"criterion": beyond.pk, "note": "Needs a senior", "version": ticket.version},
        headers=ON_TRIAGE,
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier, ticket.column.name) == (desk.support, 2, "New")
    move = Move.objects.latest("pk")
    assert (move.criterion, move.actor, move.note, move.direction) == (beyond, tier1, "Needs a senior", "escalate")
    body = response.content.decode()
    assert f"#{ticket.pk} escalated to Support · New (tier 2): Beyond this tier." in body
    assert '<div id="dialog-slot" hx-swap-oob="innerHTML"></div>' in body  # the dialog closes
    assert '<div id="board-columns"' in body and f'id="ticket-{ticket.pk}"' not in body  # the card left Triage


def test_drop_on_tab_post_moves_with_the_criterion_direction(client, desk, tier2, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    onsite_done = desk.criteria["Onsite complete"]
    client.force_login(tier2)

    client.post(
        reverse("ticket_criteria", args=[ticket.pk, "transfer"]),
        {"criterion": onsite_done.pk, "to": "noc", "version": ticket.version},
        headers=ON_SUPPORT,
    )

    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier) == (desk.noc, 1)
    assert Move.objects.latest("pk").direction == "de-escalate"


def test_a_criterion_not_offered_is_refused(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]),
        {"criterion": desk.criteria["Tier 1 time limit"].pk, "version": ticket.version},
        headers=ON_TRIAGE,
    )
    body = response.content.decode()
    assert '<div id="dialog-slot" hx-swap-oob="innerHTML">' in body and "is not one of the available choices" in body
    ticket.refresh_from_db()
    assert ticket.board == desk.triage and ticket.version == 1


def test_no_criterion_picked_shows_the_dialog_again(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]),
        {"note": "kept", "version": ticket.version},
        headers=ON_TRIAGE,
    )
    body = response.content.decode()
    assert "Pick the criterion that applies." in body and ">kept</textarea>" in body
    assert Move.objects.filter(ticket=ticket).count() == 1


def test_stale_version_is_a_conflict_naming_who_moved_it(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    rival = make_user("riley", boards=[desk.triage], first_name="Riley", last_name="Rival")
    services.move_ticket(
        ticket.pk, actor=rival, expected_version=1, to_column=desk.triage.columns.get(name="In progress")
    )
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]),
        {"criterion": desk.criteria["Beyond this tier"].pk, "version": 1},
        headers=ON_TRIAGE,
    )

    body = response.content.decode()
    assert '<p class="message error">' in body
    assert f"#{ticket.pk} was just moved by Riley Rival to Triage · In progress." in body
    ticket.refresh_from_db()
    assert (ticket.board, ticket.version) == (desk.triage, 2)


def test_without_javascript_the_dialog_is_a_page_and_the_post_redirects(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    url = reverse("ticket_criteria", args=[ticket.pk, "escalate"])

    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.content.decode() and 'id="move-dialog"' in page.content.decode()
    assert "hx-post" not in page.content.decode().split('id="move-dialog"')[1].split("</dialog>")[0]

    response = client.post(url, {"criterion": desk.criteria["Beyond this tier"].pk, "version": 1}, follow=True)
    assert response.redirect_chain == [("/boards/triage/", 302)]
    assert "escalated to Support" in response.content.decode()


def test_technician_not_on_the_board_gets_403(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    client.force_login(tier1)
    url = reverse("ticket_criteria", args=[ticket.pk, "de-escalate"])

    assert client.get(url, headers=ON_SUPPORT).status_code == 403
    response = client.post(url, {"criterion": desk.criteria["Onsite complete"].pk, "version": 1}, headers=ON_SUPPORT)

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert (ticket.board, ticket.version) == (desk.support, 1)


def test_unknown_direction_is_404(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(f"/tickets/{ticket.pk}/sideways/").status_code == 404


@pytest.mark.parametrize("method", ["put", "delete"])
def test_criteria_refuses_other_methods(client, desk, tier1, ticket_factory, method):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert getattr(client, method)(reverse("ticket_criteria", args=[ticket.pk, "escalate"])).status_code == 405
