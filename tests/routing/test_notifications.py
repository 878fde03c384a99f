"""Moves tell the people on the receiving board, after the commit, and never undo themselves."""

import smtplib
from datetime import UTC, datetime, timedelta

from django.core.mail.backends.base import BaseEmailBackend

from boards.models import Ticket
from routing import services
from routing.models import Direction, Move
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_an_escalation_emails_the_technicians_of_the_target_board(
    desk, tier1, tier2, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = make_ticket(board=desk.triage, now=NOW, title="Printer on fire")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep(NOW + timedelta(minutes=30)) == 1

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["sam@example.com"]  # Sam works Support; Tess only Triage
    assert email.subject == f"[Switchback] #{ticket.pk} escalated to Support: Printer on fire"
    assert "Why: Tier 1 time limit" in email.body
    assert "By: the scheduler" in email.body


def test_the_person_who_moved_the_ticket_is_not_emailed(desk, tier2, mailoutbox, django_capture_on_commit_callbacks):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(NOW + timedelta(minutes=30))
    ticket.refresh_from_db()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.move_ticket(
            ticket,
            actor=tier2,
            expected_version=ticket.version,
            criterion=desk.criteria["Onsite complete"],
            direction=Direction.DE_ESCALATE,
        )

    # Sam works NOC too, but made the move himself; nobody else works NOC.
    assert mailoutbox == []


def test_a_move_made_with_notify_off_queues_nothing(desk, tier1, tier2, mailoutbox, django_capture_on_commit_callbacks):
    ticket = make_ticket(board=desk.triage, now=NOW)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.move_ticket(
            ticket,
            actor=tier1,
            expected_version=ticket.version,
            criterion=desk.criteria["Beyond this tier"],
            notify=False,
        )

    assert Ticket.objects.get(pk=ticket.pk).board == desk.support
    assert callbacks == [] and mailoutbox == []


def test_nothing_is_sent_before_the_commit(desk, tier2, mailoutbox, django_capture_on_commit_callbacks):
    make_ticket(board=desk.triage, now=NOW)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.sweep(NOW + timedelta(minutes=30))

    assert len(callbacks) == 1
    assert mailoutbox == []


def test_a_mail_server_that_refuses_never_undoes_the_move(
    desk, tier2, settings, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    ticket = make_ticket(board=desk.triage, now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep(NOW + timedelta(minutes=30)) == 1

    ticket.refresh_from_db()
    assert ticket.board == desk.support
    assert Move.objects.filter(ticket=ticket, criterion__name="Tier 1 time limit").count() == 1
    assert mailoutbox == []


def test_a_broker_that_is_down_never_undoes_the_move(
    desk, tier1, tier2, broker_down, django_capture_on_commit_callbacks, caplog
):
    ticket = make_ticket(board=desk.triage, now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        move = services.move_ticket(
            ticket,
            actor=tier1,
            expected_version=ticket.version,
            criterion=desk.criteria["Beyond this tier"],
            direction=Direction.ESCALATE,
        )

    assert Ticket.objects.get(pk=ticket.pk).board == desk.support
    assert Move.objects.filter(pk=move.pk).exists()
    assert "Error calling" in caplog.text  # Django logs the robust on_commit callback's failure
