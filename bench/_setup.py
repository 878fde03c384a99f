"""What every bench does before and around its figures: one home for the set-up the benches share.

- ``setup()``: the environment's defaults for a bench run, then Django;
- ``postgresql_only()``: the benches that measure PostgreSQL's plans say so and stop on SQLite;
- ``throwaway_database()``: the bench's own database, created as the test
  runner does and destroyed afterwards; the configured database is never touched;
- ``copy_tickets()``, ``copy_rows()``, ``vacuum_analyze()``: seeding a
  hundred thousand rows with COPY, straight into a table (the services would
  take many minutes), and what autovacuum would do after it;
- ``timed()``: a median over several runs after a warm-up, with the SQL
  statement count of one run.

A bench script puts the project on ``sys.path`` and imports this module
(``from bench import _setup``) before anything of Django.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
# The local PostgreSQL as the benches that measure it assume it; the caller's DATABASE_URL wins.
LOCAL_POSTGRESQL = "postgres://postgres@127.0.0.1:5432/postgres"

T = TypeVar("T")

# A seeded ticket's columns unless its row says otherwise (copy_tickets).
TICKET_DEFAULTS = {
    "description": "",
    "requester_name": "Pat Requester",
    "requester_email": "pat@example.com",
    "source": "portal",
    "version": 1,
    "needs_onsite": False,
    "active_time": timedelta(0),
}


def setup(*, database_url: str | None = None) -> None:
    """Default the environment for a bench run (the caller's own variables win), then set Django up.

    ``database_url``: the default DATABASE_URL (``LOCAL_POSTGRESQL`` for the
    PostgreSQL benches); without one the settings' own default, SQLite, holds.
    Tasks run in-process and logs say only warnings and worse; the embedded
    Celery broker gets a folder of its own, away from a running `make run`.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("STATIC_MANIFEST", "false")
    os.environ.setdefault("SWITCHBACK_CELERY_DIR", tempfile.mkdtemp(prefix="switchback-bench-celery-"))
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if database_url:
        os.environ.setdefault("DATABASE_URL", database_url)
    # WhiteNoise looks for collected static files, which a bench never collects.
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()


def postgresql_only(script: str) -> bool:
    """Whether the database is PostgreSQL; if not, says the bench ``script`` is skipped and why."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return True
    print(f"{script}: skipped; it measures PostgreSQL's plans (set DATABASE_URL=postgres://…).")
    return False


@contextmanager
def throwaway_database(name: str | None = None, *, reuse: bool = False, keep: bool = False) -> Iterator[str]:
    """Create the bench's own database, as the test runner does, and destroy it afterwards; yields its name.

    ``name``: the database's name, else Django's test name (``test_<configured
    name>``; in memory on SQLite). ``reuse``: take the one a kept run left, data
    and all, instead of creating it afresh. ``keep``: leave it afterwards (to
    look at plans, or for the next run to reuse).
    """
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    settings_dict = connection.settings_dict
    test_settings = settings_dict.setdefault("TEST", {})
    old_name = settings_dict["NAME"]
    if name:
        test_settings["NAME"] = name
    created = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=reuse)
    try:
        yield created
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)
        if name:
            test_settings.pop("NAME", None)
        teardown_test_environment()


def copy_rows(model, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in the order of ``columns``) into ``model``'s table, PostgreSQL only."""
    from django.db import connection

    statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def copy_tickets(rows: Iterable[dict]) -> int:
    """COPY tickets, each a dict of column → value with its ``id``, ``TICKET_DEFAULTS`` for the columns it
    leaves out; then the id sequence past the highest. Returns how many were copied.

    The columns are those of the first row and the defaults: every row names the same ones.
    """
    from boards.models import Ticket

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = [*first, *(column for column in TICKET_DEFAULTS if column not in first)]
    copied, last = 0, 0

    def values():
        nonlocal copied, last
        for ticket in itertools.chain([first], rows):
            full = {**TICKET_DEFAULTS, **ticket}
            copied, last = copied + 1, max(last, full["id"])
            yield tuple(full[column] for column in columns)

    copy_rows(Ticket, columns, values())
    set_next_id(Ticket, last)
    return copied


def set_next_id(model, last: int) -> None:
    """After rows were copied in with their ids: the next ``model`` made by the ORM gets ``last`` + 1."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [last])


def vacuum_analyze(*tables: str) -> None:
    """As autovacuum would after a bulk load: the planner's statistics, and the visibility map
    that lets index-only scans skip the table. PostgreSQL only; nothing to do elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


def timed(fn: Callable[[], T], runs: int, *, warm_up: bool = True) -> tuple[float, int, T]:
    """The median milliseconds of ``fn()`` over ``runs`` calls, the statements one call sent, and its answer.

    1. With ``warm_up``, one call first that is neither timed nor counted (a
       token's first use writes, caches fill).
    2. One call whose SQL statements are counted, through an execute wrapper:
       the test client's request signals reset ``connection.queries``, so
       CaptureQueriesContext would see none.
    3. ``runs`` timed calls.
    """
    from django.db import connection

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    if warm_up:
        fn()
    with connection.execute_wrapper(counter):
        answer = fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000, count, answer
