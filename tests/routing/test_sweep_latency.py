"""Seconds, not a minute: a real beat and worker turn deadlines spread over two minutes into moves, each once.

Beat and a worker run as subprocesses against this test's PostgreSQL database
and Redis (the fixture of tests/test_celery_worker.py), with the production
schedule: the sweep every SWEEP_INTERVAL_SECONDS. Thirty tickets fall due at
moments spread over two minutes. The test holds that each moves exactly once
and never before its deadline, and prints the deadline-to-move latency
(p50, p99, worst): a figure for the closing note, not an assertion, since
timings on a shared machine are not a test's business (bench/ has targets).
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from boards.models import Ticket
from routing.models import Move
from tests.factories import make_ticket
from tests.test_celery_worker import celery_processes  # noqa: F401 -- the fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_processes"),
]

TICKETS = 30
SPREAD = timedelta(minutes=2)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_deadlines_spread_over_two_minutes_each_become_exactly_one_move_never_early(desk, tier2, record_property):
    limit = timedelta(minutes=desk.criteria["Tier 1 time limit"].time_limit_minutes)
    start = timezone.now() + timedelta(seconds=10)  # the worker and beat are still starting
    tickets = [
        make_ticket(board=desk.triage, title=f"Due at {n}", now=start + SPREAD * n / (TICKETS - 1) - limit)
        for n in range(TICKETS)
    ]
    deadlines = {t.pk: t.deadline_at for t in tickets}
    seen: dict[int, float] = {}

    give_up = time.monotonic() + (start - timezone.now() + SPREAD).total_seconds() + 60
    while len(seen) < TICKETS and time.monotonic() < give_up:
        moved = Ticket.objects.filter(pk__in=deadlines).exclude(board=desk.triage).values_list("pk", flat=True)
        now = timezone.now()
        for pk in set(moved) - seen.keys():
            seen[pk] = (now - deadlines[pk]).total_seconds()
        time.sleep(0.2)
    time.sleep(settings.SWEEP_INTERVAL_SECONDS + 1)  # one more tick: it must find nothing to do again

    assert len(seen) == TICKETS, f"{TICKETS - len(seen)} ticket(s) never moved"
    moves = Move.objects.filter(ticket_id__in=deadlines, criterion__name="Tier 1 time limit")
    assert sorted(moves.values_list("ticket_id", flat=True)) == sorted(deadlines)  # each exactly once
    assert all(move.created_at >= deadlines[move.ticket_id] for move in moves)  # never early
    assert set(Ticket.objects.filter(pk__in=deadlines).values_list("board", flat=True)) == {desk.support.pk}

    latencies = list(seen.values())
    figures = {
        "interval": settings.SWEEP_INTERVAL_SECONDS,
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "worst": max(latencies),
    }
    for name, value in figures.items():
        record_property(f"latency_{name}", value)
    print(
        f"\ndeadline → move (observed, {TICKETS} tickets, sweep every {figures['interval']} s): "
        f"p50 {figures['p50']:.1f} s, p99 {figures['p99']:.1f} s, worst {figures['worst']:.1f} s"
    )
