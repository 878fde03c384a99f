"""The Celery app, configured from Django settings (``CELERY_*``)."""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from django.db import OperationalError, connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

# DjangoTask gives every task delay_on_commit(): side effects leave only after
# the transaction that caused them has committed.
app = Celery("helpdesk", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
log = logging.getLogger(__name__)


@app.task(name="helpdesk.heartbeat")
def heartbeat(token: str = "") -> str:
    """A harmless task: proves a worker in another process is listening."""
    return f"pong {token}".strip()


@contextmanager
def tick(name: str) -> Iterator[None]:
    """Around a clock tick (sweep, warnings, inactivity): on SQLite, a busy database skips the tick.

    The embedded SQLite of ``make run`` has one writer at a time; while the
    worker writes the demo's history, a tick can wait out the 20 s busy
    timeout. Every tick re-reads what is due, so the next one (5 s later)
    does the work: that is a line in the log, not an error with a traceback.
    PostgreSQL never gets here (its row locks and SKIP LOCKED don't wait).
    """
    try:
        yield
    except OperationalError as exc:
        if connection.vendor != "sqlite" or "locked" not in str(exc):
            raise
        log.warning("%s skipped: SQLite is busy with another writer; the next tick does it", name)
