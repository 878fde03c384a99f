"""How the scheduler's sweep scales: its cost must follow the *due* tickets, not the open ones.

Seeds N open tickets (a fixed number of them due) into a throwaway database,
runs one sweep, and prints its wall time and SQL query count for each N. With
the same number due, the query count must be the same at every N: the sweep
reads only ``deadline_at <= now`` through ticket_deadline_idx.

    .venv/bin/python bench/sweep.py                     # SQLite (in memory)
    DATABASE_URL=postgres://… .venv/bin/python bench/sweep.py
    .venv/bin/python bench/sweep.py --sizes 1000,10000 --due 200

The database is created for the run (as the test runner does, named
``test_<name>_bench``) and destroyed afterwards; the configured database is
never touched. Notifications go to an in-memory broker: this measures the
sweep's own work, not email.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("SWITCHBACK_CELERY_DIR", tempfile.mkdtemp(prefix="switchback-bench-celery-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from boards.models import Ticket  # noqa: E402
from boards.seed import seed_structure  # noqa: E402
from helpdesk.celery import app  # noqa: E402
from routing import services  # noqa: E402
from routing.models import Move  # noqa: E402

TEMPLATE = 5000  # tickets built in Python; the rest are copied inside the database


def seed(desk, total: int, due: int, now) -> None:
    """``total`` open tickets on Triage: ``due`` overdue, the rest running or waiting.

    Builds the first few thousand as objects (bulk_create), then copies the
    not-due ones inside the database until there are ``total``: building
    100,000 model instances in Python would take longer than the sweep.
    """
    triage = desk["boards"]["triage"]
    limit = desk["criteria"]["Tier 1 time limit"]
    new = triage.columns.get(name="New")
    waiting = triage.columns.get(name="Waiting on customer")
    minutes = timedelta(minutes=limit.time_limit_minutes)

    def ticket(n: int) -> Ticket:
        if n < due:  # ran out 1–10 minutes ago
            started = now - minutes - timedelta(minutes=1 + n % 10)
            title = f"Bench due {n}"
        elif n % 5:  # running: due within the next 29 minutes
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

    built = min(total, due + TEMPLATE)
    Ticket.objects.bulk_create([ticket(n) for n in range(built)], batch_size=1000)

    table = connection.ops.quote_name(Ticket._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Ticket._meta.concrete_fields if not f.primary_key)
    missing, pool = total - built, built - min(built, due)
    with connection.cursor() as cursor:
        while missing > 0:
            copy = min(missing, pool)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE title LIKE %s LIMIT %s",
                ["Bench open %", copy],
            )
            missing, pool = missing - copy, pool + copy
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would after a bulk load
    assert Ticket.objects.count() == total and Ticket.objects.due(now).count() == due


def empty_tables() -> None:
    with connection.cursor() as cursor:
        for model in (Move, Ticket.required_skills.through, Ticket):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def due_query_plan(now) -> str:
    """The database's plan for one batch of the sweep's query: it should name ticket_deadline_idx."""
    query = Ticket.objects.due(now).order_by("deadline_at", "pk")[:200]
    return " | ".join(line.strip() for line in query.explain().splitlines()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="open-ticket counts, comma-separated")
    parser.add_argument("--due", type=int, default=500, help="how many of them are due")
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    # Publish notifications to process memory, not to a real broker.
    app.conf.update(broker_url="memory://localhost/", task_always_eager=False)

    settings_dict = connection.settings_dict
    if connection.vendor != "sqlite":
        settings_dict.setdefault("TEST", {})["NAME"] = f"test_{settings_dict['NAME']}_bench"
    old_name = settings_dict["NAME"]
    print(f"Creating a throwaway {connection.vendor} database …", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        boards, criteria = seed_structure()
        desk = {"boards": boards, "criteria": criteria}
        print(f"{'open':>8} {'due':>5} {'moved':>6} {'queries':>8} {'per due':>8} {'sweep':>9} {'seed':>7}")
        for size in sizes:
            empty_tables()
            now = timezone.now()
            started = time.perf_counter()
            seed(desk, size, args.due, now)
            seeded = time.perf_counter() - started

            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                moved = services.sweep(now, batch_size=args.batch_size)
                wall = time.perf_counter() - started
            assert moved == args.due, f"expected {args.due} moves, got {moved}"
            count = len(queries.captured_queries)
            print(
                f"{size:>8} {args.due:>5} {moved:>6} {count:>8} {count / args.due:>8.2f} "
                f"{wall * 1000:>7.0f}ms {seeded:>6.1f}s",
                flush=True,
            )
        print(f"Plan of the due query: {due_query_plan(timezone.now())}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
