"""End to end with real processes: beat's minute reads Dovecot, a real worker opens the ticket and
sends the acknowledgement over SMTP; a technician's customer note leaves through the same worker.

Celery beat and a worker run as subprocesses against this test's PostgreSQL
database and Redis (its own database number, as tests/celery_worker.py
explains); Dovecot and aiosmtpd are the fixtures of tests/requesters/conftest.py.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from boards.models import Ticket
from boards.services import add_note
from requesters.models import OutboundMessage
from tests.processes import wait_for
from tests.requesters.conftest import email

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mail_processes(start_celery, mailbox, imap_account, smtp):
    """Beat (its mailbox poll overdue, so sent at once) and a worker that reads Dovecot and sends through aiosmtpd."""
    logs = start_celery(
        "poll-mailboxes",
        MAILBOX_TEST_PASSWORD=imap_account[1],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=settings.EMAIL_HOST,
        EMAIL_PORT=str(settings.EMAIL_PORT),
        EMAIL_USE_TLS="false",
        EMAIL_USE_SSL="false",
        SITE_URL="https://desk.example.test",
    )
    return list(logs.values())


def test_beat_and_a_worker_turn_mail_into_a_ticket_and_answer_it(mailbox, inbox, smtp, tier1, mail_processes):
    inbox.deliver(email(subject="Outlook won't start", message_id="<outlook@northwind.example>"))

    ticket = wait_for(lambda: Ticket.objects.filter(title="Outlook won't start").first(), "the ticket", mail_processes)
    ack = wait_for(lambda: smtp.to("pat@northwind.example"), "the acknowledgement", mail_processes)[0]
    assert ack["Subject"] == f"[#{ticket.pk}] Outlook won't start"
    assert "https://desk.example.test/help/status/" in ack.get_content()
    assert inbox.uids("UNSEEN") == []

    add_note(ticket, author=tier1, body="Safe mode fixed it; try now.", internal=False)

    wait_for(lambda: len(smtp.messages) == 2, "the note's email", mail_processes)
    assert smtp.messages[1]["Subject"] == f"Re: [#{ticket.pk}] Outlook won't start"
    assert smtp.messages[1]["In-Reply-To"] == "<outlook@northwind.example>"
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}
