"""The public request form: a ticket and an acknowledgement; the honeypot, the rate limit, big attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from boards.models import Ticket
from requesters.models import Attachment, RequesterTicket, RequestForm

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "/help/"


def post(client, **fields):
    data = {
        "name": "Pat Requester",
        "email": "Pat@Northwind.example",
        "subject": "Printer on fire",
        "description": "Smoke from tray 2.",
        "website": "",
        **fields,
    }
    return client.post(URL, data)


def test_the_form_answers_a_stranger(client, desk):
    response = client.get(URL)

    assert response.status_code == 200
    assert b'name="website"' in response.content
    assert b'name="board"' not in response.content


def test_a_request_opens_a_ticket_on_triage_and_is_acknowledged(client, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, attachment=SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain"))

    assert response.status_code == 302
    assert response.url == reverse("request_sent")
    ticket = Ticket.objects.get()
    assert (ticket.board, ticket.title, ticket.description, ticket.source) == (
        desk.triage,
        "Printer on fire",
        "Smoke from tray 2.",
        Ticket.Source.PORTAL,
    )
    assert (ticket.requester_name, ticket.requester_email) == ("Pat Requester", "pat@northwind.example")
    assert bytes(Attachment.objects.get(ticket=ticket).data) == b"error 42"
    [ack] = mail.outbox
    assert ack.to == ["Pat Requester <pat@northwind.example>"]
    assert ack.subject == f"[#{ticket.pk}] Printer on fire"
    assert "/help/status/" in ack.body


def test_a_filled_honeypot_looks_like_success_and_opens_nothing(client, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, website="http://spam.example")

    assert response.status_code == 302
    assert response.url == reverse("request_sent")
    assert not Ticket.objects.exists()
    assert mail.outbox == []


def test_one_address_may_send_a_few_requests_an_hour(client, desk):
    RequestForm.objects.create(pk=1, limit_per_hour=2)
    with time_machine.travel(NOW, tick=False):
        assert post(client).status_code == 302
        assert post(client, email="pat@northwind.example").status_code == 302
        refused = post(client)
    assert refused.status_code == 429
    assert b"You have sent 2 requests in the last hour" in refused.content
    assert Ticket.objects.count() == 2

    with time_machine.travel(NOW + timedelta(minutes=61), tick=False):
        assert post(client).status_code == 302
    assert Ticket.objects.count() == 3


def test_an_attachment_over_the_limit_is_refused_with_the_sizes(client, desk, settings):
    settings.REQUESTER_ATTACHMENT_MAX_BYTES = 1024
    big = SimpleUploadedFile("dump.bin", b"x" * 5000, content_type="application/octet-stream")

    response = post(client, attachment=big)

    assert response.status_code == 400
    assert b"The attachment is 4 KiB; the limit is 1 KiB." in response.content
    assert not Ticket.objects.exists()
    # What the requester typed is still there.
    assert b"Smoke from tray 2." in response.content


def test_missing_fields_are_named(client, desk):
    response = post(client, email="not an address", subject="")

    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert b"This field is required." in response.content


@pytest.mark.parametrize("method", ["put", "delete"])
def test_the_form_takes_get_and_post_only(client, desk, method):
    assert getattr(client, method)(URL).status_code == 405


def test_offered_boards_let_the_requester_choose(client, desk):
    config = RequestForm.objects.create(pk=1)
    config.offered_boards.set([desk.triage, desk.support])

    page = client.get(URL)
    assert b'name="board"' in page.content
    post(client, board=desk.support.pk)

    assert Ticket.objects.get().board == desk.support


def test_a_board_not_offered_is_refused(client, desk):
    config = RequestForm.objects.create(pk=1)
    config.offered_boards.set([desk.triage])

    assert post(client, board=desk.noc.pk).status_code == 400
    assert not Ticket.objects.exists()


def test_the_link_is_in_the_acknowledgement_and_is_tied_to_the_ticket(client, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client)
    link = RequesterTicket.objects.get()
    status_path = mail.outbox[0].body.split("http://127.0.0.1:8000", 1)[1].split()[0]

    page = client.get(status_path)

    assert page.status_code == 200
    assert page.context["ticket"] == link.ticket


def test_one_network_address_may_send_a_few_more_whatever_the_email(client, desk):
    RequestForm.objects.create(pk=1, limit_per_hour=5, address_limit_per_hour=2)
    with time_machine.travel(NOW, tick=False):
        assert post(client, email="a@northwind.example").status_code == 302
        assert post(client, email="b@northwind.example").status_code == 302
        refused = post(client, email="c@northwind.example")
        other_network = client.post(
            URL,
            {"name": "Lee", "email": "lee@harbor.example", "subject": "Hi", "description": "x", "website": ""},
            REMOTE_ADDR="203.0.113.9",
        )

    assert refused.status_code == 429
    assert b"Many requests came from your network in the last hour." in refused.content
    assert other_network.status_code == 302
    assert Ticket.objects.count() == 3
