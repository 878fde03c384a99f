"""Two beat ticks at once on real PostgreSQL: each deadline warned once, each person told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from boards.models import Ticket
from notifications.models import BreachWarning, Notification
from notifications.warnings import send_due_warnings
from tests.concurrency import at_once
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_two_ticks_at_once_give_one_warning_per_deadline(desk):
    limit = desk.criteria["Tier 1 time limit"]
    limit.warn_before_minutes = 10
    limit.save()
    make_user("tess", tier=1, boards=[desk.triage])
    make_user("tim", tier=1, boards=[desk.triage])
    opened = NOW - timedelta(minutes=25)
    tickets = Ticket.objects.bulk_create(
        Ticket(
            title=f"Near its limit {n}",
            board=desk.triage,
            column=desk.triage.entry_column(),
            created_at=opened,
            entered_board_at=opened,
            clock_started_at=opened,
            deadline_at=opened + timedelta(minutes=30, seconds=n),
            deadline_criterion=limit,
        )
        for n in range(300)
    )

    def tick():
        return send_due_warnings(NOW, batch_size=20)

    sent = at_once(tick, tick)

    print(f"\nwarnings sent by each tick: {sent}")
    assert sum(sent) == len(tickets) == BreachWarning.objects.count()
    assert Notification.objects.count() == 2 * len(tickets)
    assert send_due_warnings(NOW + timedelta(seconds=5)) == 0
