"""The requesters' admin: mailboxes without passwords, the errors list with its .eml, editable templates."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from requesters import services
from requesters.models import InboundMessage, Mailbox, MailTemplate, RequesterTicket


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def mailbox(desk) -> Mailbox:
    return Mailbox.objects.create(
        name="Support",
        address="support@example.test",
        host="imap.example.test",
        username="support@example.test",
        password_env="MAILBOX_SUPPORT_PASSWORD",
        board=desk.triage,
    )


def test_a_mailbox_names_its_password_variable_and_never_holds_a_password(manager_client, desk):
    assert not any(f.name == "password" for f in Mailbox._meta.get_fields())
    page = manager_client.get(reverse("admin:requesters_mailbox_add")).content.decode()
    assert 'name="password_env"' in page
    assert 'type="password"' not in page
    # Triage by default, as the issue asks.
    assert f'<option value="{desk.triage.pk}" selected>' in page


def test_a_password_variable_must_be_a_variable_name(manager_client, mailbox):
    data = {
        "name": "Support",
        "address": "support@example.test",
        "active": "on",
        "board": mailbox.board_id,
        "host": "imap.example.test",
        "port": 993,
        "security": "ssl",
        "username": "support",
        "password_env": "hunter2 is my password",
        "folder": "INBOX",
        "errors_folder": "Switchback-errors",
    }
    response = manager_client.post(reverse("admin:requesters_mailbox_change", args=[mailbox.pk]), data)

    assert response.status_code == 200
    assert "An environment variable&#x27;s name" in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.password_env == "MAILBOX_SUPPORT_PASSWORD"


def test_the_errors_list_offers_the_unreadable_message_as_eml(manager_client, mailbox):
    raw = b"Subject: no sender\r\n\r\n\xff\xfe garbage\r\n"
    services.receive_message(mailbox, raw)
    message = InboundMessage.objects.get()

    listing = manager_client.get(reverse("admin:requesters_unreadablemessage_changelist")).content.decode()
    assert "No sender address in From" in listing
    page = manager_client.get(reverse("admin:requesters_unreadablemessage_change", args=[message.pk]))
    assert "Download the .eml" in page.content.decode()
    eml = manager_client.get(reverse("admin:requesters_unreadablemessage_eml", args=[message.pk]))

    assert eml.status_code == 200
    assert eml["Content-Type"] == "message/rfc822"
    assert eml.content == raw


def test_a_technician_gets_no_eml(client, tier1, mailbox):
    services.receive_message(mailbox, b"garbage without headers")
    client.force_login(tier1)

    response = client.get(reverse("admin:requesters_unreadablemessage_eml", args=[InboundMessage.objects.get().pk]))

    assert response.status_code == 302  # to admin's login: technicians are not staff


def test_the_acknowledgement_uses_the_managers_words(desk, django_capture_on_commit_callbacks):
    MailTemplate.objects.update_or_create(
        kind="ack",
        defaults={
            "subject": "We got it: {{ ticket.number }}",
            "body": "Hi {{ requester_name }}, see {{ status_url }} <b>not html</b>",
        },
    )
    # Frozen: the status link is signed with the time, and is asked for twice.
    with time_machine.travel(timezone.now(), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = services.open_request(
                board=desk.triage,
                channel=RequesterTicket.Channel.FORM,
                name="Pat & Co",
                email="pat@northwind.example",
                subject="Hello",
                text="",
                now=timezone.now(),
            )

        [ack] = mail.outbox
        assert ack.subject == f"We got it: #{ticket.pk}"
        link = RequesterTicket.objects.get(ticket=ticket)
        # Plain text: nothing is HTML-escaped.
        assert ack.body == f"Hi Pat & Co, see {services.status_url(link)} <b>not html</b>"


def test_a_template_that_does_not_render_falls_back_to_the_default(desk, django_capture_on_commit_callbacks):
    MailTemplate.objects.update_or_create(kind="ack", defaults={"subject": "{% if %}", "body": "{% broken"})
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.open_request(
            board=desk.triage,
            channel=RequesterTicket.Channel.FORM,
            name="Pat",
            email="pat@northwind.example",
            subject="Hello",
            text="",
            now=timezone.now(),
        )

    assert mail.outbox[0].subject == f"[#{ticket.pk}] Hello"
