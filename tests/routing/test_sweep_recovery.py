"""The sweep after trouble: hours of downtime, a sweep that dies, a process killed mid-batch.

Each must end with exactly one move per fired deadline. A sweep writes its
whole batch in one transaction, so dying midway leaves nothing behind and the
next sweep finds the same tickets due.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from boards.models import Ticket
from routing import services
from routing.models import Criterion, Direction, Move
from tests.factories import live_database_url, make_ticket
from tests.processes import held_then_killed

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def open_triage_tickets(desk, count: int) -> list[Ticket]:
    return [make_ticket(board=desk.triage, title=f"Due {n}", now=NOW) for n in range(count)]


def scheduler_moves(tickets: list[Ticket]) -> dict[int, int]:
    """How many moves the scheduler made on each ticket."""
    moves = Move.objects.filter(ticket__in=tickets, actor=None, criterion__isnull=False)
    return {t.pk: moves.filter(ticket=t).count() for t in tickets}


def test_a_sweep_after_hours_of_downtime_moves_each_due_ticket_once(desk):
    # Support has a limit of its own, so a cascade would show: a ticket landing
    # on Support must start that clock when it arrives, not hours ago.
    Criterion.objects.create(
        name="Tier 2 time limit",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.support,
        from_tier=2,
        to_tier=3,
        time_limit_minutes=60,
    )
    tickets = open_triage_tickets(desk, 5)
    back_up = NOW + timedelta(hours=6)

    assert services.sweep(back_up) == 5

    assert scheduler_moves(tickets) == {t.pk: 1 for t in tickets}
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert (ticket.board, ticket.tier) == (desk.support, 2)
        assert ticket.deadline_at == back_up + timedelta(minutes=60)
    assert services.sweep(back_up) == 0


def test_a_sweep_that_dies_midway_leaves_nothing_and_the_next_moves_each_once(desk, monkeypatch):
    tickets = open_triage_tickets(desk, 10)
    due = NOW + timedelta(minutes=30)
    real_apply = services._apply
    calls = 0

    def dies_on_the_fourth(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("worker lost")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(services, "_apply", dies_on_the_fourth)
    with pytest.raises(RuntimeError, match="worker lost"):
        services.sweep(due)
    assert scheduler_moves(tickets) == {t.pk: 0 for t in tickets}
    assert Ticket.objects.filter(board=desk.triage).count() == 10

    monkeypatch.setattr(services, "_apply", real_apply)
    assert services.sweep(due) == 10
    assert scheduler_moves(tickets) == {t.pk: 1 for t in tickets}


# A sweep in its own process that stops, holding its batch's row locks, after
# three moves, and says so: the test then kills it with SIGKILL.
HOLDING_SWEEP = """
import sys, threading
import django
django.setup()
from datetime import datetime
from django.db import connection
from routing import services

real_apply, calls = services._apply, 0

def apply_then_hold(*args, **kwargs):
    global calls
    move = real_apply(*args, **kwargs)
    calls += 1
    if calls == 3:
        print("HOLDING", connection.connection.info.backend_pid, flush=True)
        threading.Event().wait()  # hold the locks until killed
    return move

services._apply = apply_then_hold
services.sweep(datetime.fromisoformat(sys.argv[1]))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_process_killed_midway_leaves_nothing_and_the_next_moves_each_once(desk):
    tickets = open_triage_tickets(desk, 10)
    due = NOW + timedelta(minutes=30)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DATABASE_URL": live_database_url(),
        "SECRET_KEY": "tests-only-secret-key",
    }
    with held_then_killed(HOLDING_SWEEP, due.isoformat(), env=env) as (backend_pid, *_):
        # Three moves are written but not committed: nobody else sees them.
        assert scheduler_moves(tickets) == {t.pk: 0 for t in tickets}

    # PostgreSQL rolls the dead session back as it notices the closed socket;
    # wait (bounded) for its backend to be gone so its row locks are released.
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [int(backend_pid)])
            if cursor.fetchone()[0] == 0:
                break
            cursor.execute("SELECT pg_sleep(0.05)")
        else:
            pytest.fail("the killed sweep's session never ended")

    assert services.sweep(due) == 10
    assert scheduler_moves(tickets) == {t.pk: 1 for t in tickets}
    assert services.sweep(due) == 0
