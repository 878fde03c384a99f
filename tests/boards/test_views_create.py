"""Quick add: a ticket opened from the board page lands in the board's entry column."""

from django.urls import reverse

from boards.models import Client, Ticket
from routing.models import Move

ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}


def test_quick_add_opens_the_ticket_on_this_board(client, desk, tier1):
    acme = Client.objects.create(name="Acme")
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_create", args=["triage"]),
        {"title": "Printer offline", "priority": "2", "client": acme.pk, "requester_name": "Pat"},
        headers=ON_TRIAGE,
    )

    ticket = Ticket.objects.get()
    assert (ticket.board, ticket.column.name, ticket.priority, ticket.client) == (desk.triage, "New", 2, acme)
    assert ticket.deadline_at is not None  # the Tier 1 clock runs from the start
    assert Move.objects.get(ticket=ticket).actor == tier1
    body = response.content.decode()
    assert f"#{ticket.pk} opened on Triage: Printer offline" in body
    assert f'id="ticket-{ticket.pk}"' in body.split('<div id="board-columns"')[1]
    assert '<details class="quick-add" id="quick-add" hx-swap-oob="true">' in body  # a fresh, closed form


def test_quick_add_without_javascript_redirects_to_the_board(client, desk, tier1):
    client.force_login(tier1)
    response = client.post(reverse("ticket_create", args=["triage"]), {"title": "No JS here"})
    assert response.status_code == 302 and response["Location"] == "/boards/triage/"
    assert Ticket.objects.get().priority == Ticket.Priority.P3


def test_quick_add_needs_a_title(client, desk, tier1):
    client.force_login(tier1)
    response = client.post(reverse("ticket_create", args=["triage"]), {"title": ""}, headers=ON_TRIAGE)
    body = response.content.decode()
    assert '<p class="message error">' in body and "Title: This field is required." in body
    assert '<details class="quick-add" id="quick-add" hx-swap-oob="true" open>' in body
    assert not Ticket.objects.exists()


def test_quick_add_escapes_the_title(client, desk, tier1):
    client.force_login(tier1)
    response = client.post(reverse("ticket_create", args=["triage"]), {"title": "<b>x</b>"}, headers=ON_TRIAGE)
    body = response.content.decode()
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


def test_quick_add_on_a_board_i_do_not_work_is_403(client, desk, tier1):
    client.force_login(tier1)
    response = client.post(reverse("ticket_create", args=["support"]), {"title": "Sneaky"})
    assert response.status_code == 403 and not Ticket.objects.exists()


def test_quick_add_refuses_get(client, desk, tier1):
    client.force_login(tier1)
    assert client.get(reverse("ticket_create", args=["triage"])).status_code == 405
