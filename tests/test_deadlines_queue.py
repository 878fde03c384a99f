"""The clock's ticks travel on a queue of their own, and every way of running the desk consumes it."""

import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings

from helpdesk.celery import app

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TASKS = [
    entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if "due" in name or "inactive" in name
]


def _queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_deadline_warning_and_inactivity_ticks_go_to_the_deadlines_queue():
    assert sorted(CLOCK_TASKS) == [
        "notifications.tasks.send_due_warnings",
        "routing.tasks.sweep_due_tickets",
        "routing.tasks.sweep_inactive_tickets",
    ]
    assert {_queue_of(task) for task in CLOCK_TASKS} == {"deadlines"}
    # Mail, the Flow facts and everything else stay on the general queue.
    assert _queue_of("flow.tasks.build_facts") == _queue_of("requesters.tasks.poll_mailboxes") == "celery"


def test_make_run_starts_a_worker_for_each_queue():
    consumed = set()
    for line in (ROOT / "Procfile").read_text().splitlines():
        args = shlex.split(line.partition(":")[2])
        if "worker" in args:
            [queues] = [a.split("=", 1)[1] for a in args if a.startswith("--queues=")]
            consumed |= set(queues.split(","))
    assert consumed == {"celery", "deadlines"}


def test_the_readme_tells_production_to_consume_the_deadlines_queue():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"celery -A helpdesk worker --queues=deadlines", readme)


def test_a_tick_that_meets_a_busy_sqlite_is_skipped_with_a_line_in_the_log(caplog, monkeypatch):
    from django.db import OperationalError, connections

    from helpdesk.celery import tick

    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with caplog.at_level("WARNING", logger="helpdesk.celery"), tick("sweep"):
        raise OperationalError("database is locked")
    assert "sweep skipped: SQLite is busy" in caplog.text

    monkeypatch.setattr(connections["default"], "vendor", "postgresql")
    with pytest.raises(OperationalError), tick("sweep"):
        raise OperationalError("database is locked")
