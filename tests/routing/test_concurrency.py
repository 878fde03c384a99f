"""Sweeps and people at the same time, on a real PostgreSQL: one move per fired deadline.

Each worker runs in its own thread with its own database connection, so the
row locks are PostgreSQL's, not a simulation. Threads close their connection
when done; the test database could not be dropped otherwise.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from boards.models import Ticket
from routing import services
from routing.models import Criterion, Direction, Move
from tests.concurrency import at_once
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_thread(fn, *args, **kwargs):
    """Run ``fn`` in a new thread and return its future; the thread closes its connection."""

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(run)
    executor.shutdown(wait=False)
    return future


def seed_due_tickets(desk, count: int) -> None:
    """``count`` Triage tickets opened 40 minutes ago: their 30 minutes ran out at NOW − 10."""
    opened = NOW - timedelta(minutes=40)
    limit = desk.criteria["Tier 1 time limit"]
    column = desk.triage.entry_column()
    Ticket.objects.bulk_create(
        [
            Ticket(
                title=f"Due ticket {n}",
                board=desk.triage,
                column=column,
                tier=1,
                created_at=opened,
                entered_board_at=opened,
                clock_started_at=opened,
                active_time=timedelta(0),
                deadline_at=opened + timedelta(minutes=limit.time_limit_minutes),
                deadline_criterion=limit,
            )
            for n in range(count)
        ],
        batch_size=500,
    )


def time_moves(**filters):
    return Move.objects.filter(criterion__trigger=Criterion.Trigger.TIME, **filters)


def wait_for_a_lock_waiter(timeout: float = 10.0) -> None:
    """Return once another session of this database is blocked on a lock (bounded)."""
    give_up = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < give_up:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"no session waited for a lock within {timeout} s")


def test_two_sweeps_at_once_move_each_due_ticket_exactly_once(desk):
    seed_due_tickets(desk, 1000)

    def sweeper():
        return services.sweep(NOW, batch_size=50)

    moved = at_once(sweeper, sweeper)

    assert sum(moved) == 1000
    assert time_moves().count() == 1000
    assert time_moves().values("ticket").distinct().count() == 1000
    assert not Ticket.objects.filter(board=desk.triage).exists()
    assert services.sweep(NOW) == 0
    assert time_moves().count() == 1000


def test_a_technician_who_loses_the_race_to_the_sweep_gets_a_conflict(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW - timedelta(minutes=40))
    seen = ticket.version
    swept, release = threading.Event(), threading.Event()

    def scheduler():
        # The sweep's own transaction is a savepoint of this one, so the row
        # lock is held until ``release``, while the technician tries to move.
        with transaction.atomic():
            moved = services.sweep_once(NOW)
            swept.set()
            release.wait(timeout=20)
        return moved

    def technician():
        return services.move_ticket(
            ticket.pk,
            actor=tier1,
            expected_version=seen,
            criterion=desk.criteria["Beyond this tier"],
            direction=Direction.ESCALATE,
            note="Escalating by hand.",
        )

    sweep_result = in_thread(scheduler)
    assert swept.wait(timeout=20)
    manual_result = in_thread(technician)
    wait_for_a_lock_waiter()  # the technician's SELECT … FOR UPDATE is blocked on the sweep
    release.set()

    assert sweep_result.result(timeout=20) == 1
    with pytest.raises(services.Conflict, match="was just moved by the scheduler to Support · New"):
        manual_result.result(timeout=20)
    assert list(Move.objects.filter(ticket_id=ticket.pk, criterion__isnull=False).values_list("actor", flat=True)) == [
        None
    ]
    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier, ticket.version) == (desk.support, 2, seen + 1)


def test_the_sweep_skips_a_ticket_a_technician_is_moving(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW - timedelta(minutes=40))
    moving, release = threading.Event(), threading.Event()

    def technician():
        with transaction.atomic():
            move = services.move_ticket(
                ticket.pk,
                actor=tier1,
                expected_version=ticket.version,
                criterion=desk.criteria["Beyond this tier"],
                direction=Direction.ESCALATE,
            )
            moving.set()
            release.wait(timeout=20)
        return move

    manual_result = in_thread(technician)
    assert moving.wait(timeout=20)
    # SKIP LOCKED: the sweep neither waits for the technician nor moves the ticket.
    assert in_thread(services.sweep_once, NOW).result(timeout=10) == 0
    release.set()

    assert manual_result.result(timeout=20).actor == tier1
    assert services.sweep(NOW) == 0  # once committed, the ticket is on Support and not due
    assert list(Move.objects.filter(ticket_id=ticket.pk, criterion__isnull=False).values_list("actor", flat=True)) == [
        tier1.pk
    ]


def test_an_unstaged_race_still_gives_one_move_per_ticket(desk, tier1):
    """No holds: whoever gets the row lock first wins; the other backs off cleanly."""
    for _ in range(10):
        ticket = make_ticket(board=desk.triage, now=NOW - timedelta(minutes=40))

        def scheduler():
            return services.sweep_once(NOW)

        def technician(ticket=ticket):
            try:
                services.move_ticket(
                    ticket.pk,
                    actor=tier1,
                    expected_version=ticket.version,
                    criterion=desk.criteria["Beyond this tier"],
                    direction=Direction.ESCALATE,
                )
            except services.Conflict:
                return "conflict"
            return "moved"

        outcome = tuple(at_once(scheduler, technician, timeout=20))
        assert outcome in {(1, "conflict"), (0, "moved")}
        assert Move.objects.filter(ticket_id=ticket.pk, criterion__isnull=False).count() == 1
