"""How the scheduler's sweep scales: its cost must follow the *due* tickets, not the open ones.

Seeds open tickets into a throwaway database and sweeps them, in three cases:

- **scaling**: N open tickets (a fixed number due) for each N; with the same
  number due, the statement count is the same at every N, because the sweep
  reads only ``deadline_at <= now`` through ticket_deadline_idx;
- **no-op**: 100,000 open tickets and nothing due: one indexed query;
- **backlog**: 100,000 open tickets of which 57,700 are due, as after a long
  outage (issue 11): wall time, statements, statements per moved ticket and
  the Celery messages published. Targets: under 35 s, at most 0.1 statements
  per moved ticket;
- **recompute**: a manager edits the time criterion with 100,000 open
  tickets: ``recompute_deadlines`` (the same ``deadline_for`` as a move's,
  no SQL twin), once for an edit that moves no deadline and once for a new
  limit that moves every running clock's.

    .venv/bin/python bench/sweep.py                     # SQLite (in memory)
    DATABASE_URL=postgres://… .venv/bin/python bench/sweep.py
    .venv/bin/python bench/sweep.py --cases backlog --backlog 57700 --open 100000

Process start-up (Python and Django) is measured and printed apart from the
sweeps. The database is created for the run (as the test runner does, named
``test_<name>_bench``) and destroyed afterwards; the configured database is
never touched. Notifications go to an in-memory broker, counted as they are
published: this measures the sweep's own work, not email.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

PROCESS_STARTED = time.perf_counter()  # process start-up (Django's setup) is measured from here

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _setup  # noqa: E402

_setup.setup()

from celery.signals import after_task_publish  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from boards.models import Ticket  # noqa: E402
from boards.seed import seed_structure  # noqa: E402
from helpdesk.celery import app  # noqa: E402
from routing import services  # noqa: E402
from routing.models import Move  # noqa: E402

TEMPLATE = 5000  # tickets built in Python; the rest are copied inside the database


def seed(desk, total: int, due: int, now) -> None:
    """``total`` open tickets on Triage: ``due`` overdue, the rest running or waiting.

    Builds a few thousand of each kind as objects (bulk_create), then copies
    them inside the database until there are ``total``: building 100,000
    model instances in Python would take longer than the sweep.
    """
    triage = desk["boards"]["triage"]
    limit = desk["criteria"]["Tier 1 time limit"]
    new = triage.columns.get(name="New")
    waiting = triage.columns.get(name="Waiting on customer")
    minutes = timedelta(minutes=limit.time_limit_minutes)

    def ticket(n: int, overdue: bool) -> Ticket:
        if overdue:  # ran out 1–10 minutes ago
            started = now - minutes - timedelta(minutes=1 + n % 10)
            title = f"Bench due {n}"
        elif n % 5:  # running: due in 1 to 30 minutes (none falls due while the bench runs)
            started = now - timedelta(seconds=n % (29 * 60))
            title = f"Bench open {n}"
        else:  # waiting on the customer: clock paused, no deadline
            return Ticket(
                title=f"Bench open {n}",
                board=triage,
                column=waiting,
                created_at=now - minutes,
                entered_board_at=now - minutes,
                active_time=timedelta(minutes=5),
            )
        return Ticket(
            title=title,
            board=triage,
            column=new,
            created_at=started,
            entered_board_at=started,
            clock_started_at=started,
            deadline_at=started + minutes,
            deadline_criterion=limit,
        )

    built_due, built_open = min(due, TEMPLATE), min(total - due, TEMPLATE)
    Ticket.objects.bulk_create(
        [ticket(n, True) for n in range(built_due)] + [ticket(n, False) for n in range(built_open)], batch_size=1000
    )

    table = connection.ops.quote_name(Ticket._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Ticket._meta.concrete_fields if not f.primary_key)
    with connection.cursor() as cursor:
        for pattern, missing, pool in [
            ("Bench due %", due - built_due, built_due),
            ("Bench open %", total - due - built_open, built_open),
        ]:
            while missing > 0:
                copy = min(missing, pool)
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE title LIKE %s LIMIT %s",
                    [pattern, copy],
                )
                missing, pool = missing - copy, pool + copy
    _setup.vacuum_analyze(Ticket._meta.db_table)
    assert Ticket.objects.count() == total and Ticket.objects.due(now).count() == due


def empty_tables() -> None:
    with connection.cursor() as cursor:
        for model in (Move, Ticket.required_skills.through, Ticket):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def due_query_plan(now) -> str:
    """The database's plan for one batch of the sweep's query: it should name ticket_deadline_idx."""
    query = Ticket.objects.due(now).order_by("deadline_at", "pk")[:200]
    return " | ".join(line.strip() for line in query.explain().splitlines()[:3])


class Counted:
    """Statements sent to the database and Celery messages published while it is open.

    Counts every statement through an execute wrapper, where Django's query
    log would keep only the last 9,000.
    """

    def __enter__(self) -> Counted:
        self.statements = self.published = 0
        self.in_database = 0.0
        self._wrapper = connection.execute_wrapper(self._count)
        self._wrapper.__enter__()
        after_task_publish.connect(self._publish, weak=False)
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        after_task_publish.disconnect(self._publish)
        self._wrapper.__exit__(*exc)

    def _count(self, execute, sql, params, many, context):
        self.statements += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.in_database += time.perf_counter() - started

    def _publish(self, **kwargs) -> None:
        self.published += 1


def sweep_counted(now, batch_size: int) -> tuple[int, Counted]:
    with Counted() as counted:
        moved = services.sweep(now, batch_size=batch_size)
    return moved, counted


def scaling(desk, sizes: list[int], due: int, batch_size: int) -> None:
    print(f"\nScaling: {due} due among N open tickets")
    print(f"{'open':>8} {'due':>6} {'moved':>6} {'statements':>10} {'per moved':>9} {'sweep':>9} {'seed':>7}")
    for size in sizes:
        empty_tables()
        now = timezone.now()
        started = time.perf_counter()
        seed(desk, size, due, now)
        seeded = time.perf_counter() - started
        moved, counted = sweep_counted(now, batch_size)
        assert moved == due, f"expected {due} moves, got {moved}"
        print(
            f"{size:>8} {due:>6} {moved:>6} {counted.statements:>10} {counted.statements / due:>9.3f} "
            f"{counted.seconds * 1000:>7.0f}ms {seeded:>6.1f}s",
            flush=True,
        )


def no_op(desk, size: int, batch_size: int, runs: int) -> None:
    """A sweep with nothing due at ``size`` open tickets, the best of ``runs``."""
    empty_tables()
    now = timezone.now()
    seed(desk, size, 0, now)
    results = [sweep_counted(now, batch_size) for _ in range(runs)]
    assert all(moved == 0 for moved, _ in results)
    best = min(counted.seconds for _, counted in results)
    statements = {counted.statements for _, counted in results}
    print(
        f"\nNo-op: nothing due among {size} open tickets: {'/'.join(map(str, sorted(statements)))} statement(s), "
        f"{best * 1000:.1f} ms (best of {runs})"
    )


def backlog(desk, size: int, due: int, batch_size: int) -> None:
    """A backlog after an outage: ``due`` of ``size`` open tickets overdue at once."""
    empty_tables()
    now = timezone.now()
    started = time.perf_counter()
    seed(desk, size, due, now)
    print(f"\nBacklog: {due} due among {size} open tickets (seeded in {time.perf_counter() - started:.1f} s)")
    moved, counted = sweep_counted(now, batch_size)
    assert moved == due, f"expected {due} moves, got {moved}"
    assert Move.objects.filter(criterion__isnull=False).count() == due
    verdict = "under" if counted.seconds < 35 else "OVER"
    per = counted.statements / moved
    print(f"  sweep wall time        {counted.seconds:8.2f} s ({verdict} the 35 s target; batches of {batch_size})")
    print(f"  waiting on the database{counted.in_database:8.2f} s (the rest is Python)")
    print(f"  statements             {counted.statements:8d}")
    print(f"  per moved ticket       {per:8.3f} ({'within' if per <= 0.1 else 'OVER'} the 0.1 target)")
    print(f"  Celery messages        {counted.published:8d} (one per batch and target board)")
    print(f"  moved                  {moved:8d} ({moved / counted.seconds:.0f} tickets/s)")


def recompute(desk, size: int) -> None:
    """A criteria edit at ``size`` open tickets: nothing moves, then every running clock's deadline moves."""
    empty_tables()
    now = timezone.now()
    seed(desk, size, 0, now)
    limit = desk["criteria"]["Tier 1 time limit"]
    print(f"\nRecompute: a criteria edit with {size} open tickets")
    for label, minutes in [("same limit (nothing moves)", limit.time_limit_minutes), ("limit 30 → 45 min", 45)]:
        type(limit).objects.filter(pk=limit.pk).update(time_limit_minutes=minutes)
        with Counted() as counted:
            written = services.recompute_deadlines()
        print(
            f"  {label:<28} {counted.seconds:6.2f} s ({counted.in_database:.2f} s in the database), "
            f"{counted.statements:4d} statements, {written} rows written"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="scaling,noop,backlog,recompute", help="which cases, comma-separated")
    parser.add_argument("--sizes", default="10000,100000", help="scaling: open-ticket counts, comma-separated")
    parser.add_argument("--due", type=int, default=500, help="scaling: how many of them are due")
    parser.add_argument("--open", type=int, default=100_000, help="no-op and backlog: open tickets")
    parser.add_argument("--backlog", type=int, default=57_700, help="backlog: how many of them are due")
    parser.add_argument("--runs", type=int, default=5, help="no-op: sweeps to time (the best is printed)")
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    started_up = time.perf_counter() - PROCESS_STARTED

    # Publish notifications to process memory, not to a real broker.
    app.conf.update(broker_url="memory://localhost/", task_always_eager=False)

    name = None if connection.vendor == "sqlite" else f"test_{connection.settings_dict['NAME']}_bench"
    print(f"Process start-up (Python, Django): {started_up:.2f} s, not counted in any figure below.")
    print(f"Creating a throwaway {connection.vendor} database …", flush=True)
    with _setup.throwaway_database(name):
        boards, criteria = seed_structure()
        desk = {"boards": boards, "criteria": criteria}
        if "scaling" in cases:
            scaling(desk, [int(size) for size in args.sizes.split(",")], args.due, args.batch_size)
        if "noop" in cases:
            no_op(desk, args.open, args.batch_size, args.runs)
        if "backlog" in cases:
            backlog(desk, args.open, args.backlog, args.batch_size)
        if "recompute" in cases:
            recompute(desk, args.open)
        print(f"\nPlan of the due query: {due_query_plan(timezone.now())}")


if __name__ == "__main__":
    main()
