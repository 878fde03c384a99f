"""End to end: celery beat's scheduled sweep, run by a real worker, escalates a ticket.

Both run as subprocesses against this test's PostgreSQL database and Redis,
exactly as `make run` or production would start them (tests/celery_worker.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from boards.models import Ticket
from routing.models import Move
from tests.factories import make_ticket
from tests.processes import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_processes(start_celery):
    """Beat (its sweep overdue, so sent at once) and a worker that emails with the console backend."""
    return start_celery("sweep-due-tickets", EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")


def test_beat_and_a_worker_escalate_an_overdue_ticket(desk, tier2, celery_processes):
    # Opened 40 real minutes ago: the worker sweeps with the real clock.
    ticket = make_ticket(board=desk.triage, now=timezone.now() - timedelta(minutes=40), title="Overdue on Triage")
    assert ticket.deadline_at < timezone.now()
    logs = list(celery_processes.values())

    def escalated():
        return Move.objects.filter(ticket_id=ticket.pk, criterion__name="Tier 1 time limit").first()

    move = wait_for(escalated, "the scheduled sweep's escalation", logs)

    assert move.actor is None
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.board, ticket.tier) == (desk.support, 2)
    assert "Sending due task sweep-due-tickets" in celery_processes["beat"].read_text()
    # The move's notification went through Redis to the same worker, which
    # emailed Sam (he works Support) with the console backend.
    wait_for(
        lambda: f"#{ticket.pk} escalated to Support: Overdue on Triage" in celery_processes["worker"].read_text(),
        "the escalation email",
        logs,
    )
    assert "To: sam@example.com" in celery_processes["worker"].read_text()
