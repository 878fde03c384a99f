"""A real beat and worker send each warning once, seconds after its moment, and email it after the commit.

Beat and a worker run as subprocesses against this test's PostgreSQL database
and Redis (tests/test_celery_worker.py's fixture) with the production
schedule. Ten tickets reach their warning moment spread over 40 seconds. The
test holds that each is warned exactly once, never early, and prints the
moment-to-warning latency: a figure for the note, not an assertion (timings
on a shared machine are not a test's business).
"""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import BreachWarning, Notification
from tests.factories import make_ticket
from tests.test_celery_worker import celery_processes, wait_for  # noqa: F401 -- the fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

TICKETS = 10
SPREAD = timedelta(seconds=40)


def test_beat_and_a_worker_warn_each_ticket_once_seconds_after_its_moment(desk, tier1, celery_processes):  # noqa: F811
    criterion = desk.criteria["Tier 1 time limit"]
    criterion.warn_before_minutes = 10
    criterion.save()
    limit, lead = timedelta(minutes=criterion.time_limit_minutes), criterion.warning_lead
    start = timezone.now() + timedelta(seconds=10)  # the worker and beat are still starting
    moments = [start + SPREAD * n / (TICKETS - 1) for n in range(TICKETS)]
    tickets = [
        make_ticket(board=desk.triage, title=f"Warned at {n}", now=moment + lead - limit)
        for n, moment in enumerate(moments)
    ]
    logs = list(celery_processes.values())

    wait_for(lambda: BreachWarning.objects.count() == TICKETS, "every warning", logs, timeout=120)
    # The email goes out after the commit, through Redis, from the same worker (console backend).
    wait_for(
        lambda: f"#{tickets[-1].pk} nears its time limit" in celery_processes["worker"].read_text(), "the email", logs
    )

    warnings = list(BreachWarning.objects.order_by("warn_at"))
    assert [w.ticket_id for w in warnings] == [t.pk for t in tickets]  # each once, in order
    assert all(w.created_at >= w.warn_at for w in warnings)  # never early
    assert Notification.objects.filter(user=tier1).count() == TICKETS
    assert "Sending due task send-due-warnings" in celery_processes["beat"].read_text()

    # Seen by the test: the warning's row appears this long after its moment (the tick's clock).
    latencies = [(w.created_at - w.warn_at).total_seconds() for w in warnings]
    print(
        f"\nwarning moment → warning ({TICKETS} tickets, real beat and worker): "
        f"p50 {statistics.median(latencies):.1f} s, worst {max(latencies):.1f} s"
    )
