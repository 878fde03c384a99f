"""End to end: celery beat's scheduled sweep, run by a real worker, escalates a ticket.

Both run as subprocesses against this test's PostgreSQL database and Redis,
exactly as `make run` or production would start them. Redis must be a
database of its own (REDIS_URL=redis://…/N): any other worker listening on it
could take the sweep, and this test would wait for nothing.
"""

from __future__ import annotations

import os
import shelve
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import __version__ as celery_version
from celery.beat import ScheduleEntry
from celery.schedules import schedule as every
from django.conf import settings
from django.utils import timezone

from boards.models import Ticket
from routing.models import Move
from tests.factories import live_database_url, make_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CELERY = str(Path(sys.executable).with_name("celery"))
PROJECT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


def write_overdue_schedule(path: Path) -> None:
    """A beat schedule file whose sweep last ran an hour ago, as after downtime.

    A fresh schedule file would not do: beat stamps a new interval entry with
    "last run: now" and first sends it a full interval (60 s) later. An entry
    that is overdue is sent the moment beat starts.
    """
    from helpdesk.celery import app

    spec = settings.CELERY_BEAT_SCHEDULE["sweep-due-tickets"]
    with shelve.open(str(path)) as store:
        store["entries"] = {
            "sweep-due-tickets": ScheduleEntry(
                name="sweep-due-tickets",
                task=spec["task"],
                schedule=every(spec["schedule"]),
                options=spec["options"],
                last_run_at=datetime.now(UTC) - timedelta(hours=1),
            )
        }
        # Beat clears a schedule stored under another version or time zone.
        store["__version__"] = celery_version
        store["tz"] = app.conf.timezone
        store["utc_enabled"] = app.conf.enable_utc


def wait_for(condition, what: str, logs: list[Path], timeout: float = WAIT_SECONDS):
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    raise AssertionError(f"{what} did not happen within {timeout} s.\n{tails}")


@pytest.fixture
def celery_processes(real_celery, transactional_db, tmp_path):
    """Start a worker and beat; stop both (and so their connections) on teardown."""
    from helpdesk.celery import app

    app.control.purge()  # nothing left over from an earlier run on this Redis database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": real_celery,
        "SWITCHBACK_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    schedule = tmp_path / "celerybeat-schedule"
    write_overdue_schedule(schedule)
    worker = f"sweep-test-{os.getpid()}@%h"
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    commands = {
        "worker": [CELERY, "-A", "helpdesk", "worker", "--pool=solo", "-l", "info", "-n", worker, *quiet],
        "beat": [CELERY, "-A", "helpdesk", "beat", "-s", str(schedule), "-l", "info"],
    }
    processes, logs = [], {}
    try:
        for name, command in commands.items():
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("w") as log:
                processes.append(subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT))
        yield logs
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_beat_and_a_worker_escalate_an_overdue_ticket(desk, tier2, celery_processes):
    # Opened 40 real minutes ago: the worker sweeps with the real clock.
    ticket = make_ticket(board=desk.triage, now=timezone.now() - timedelta(minutes=40), title="Overdue on Triage")
    assert ticket.deadline_at < timezone.now()
    logs = list(celery_processes.values())

    def escalated():
        return Move.objects.filter(ticket_id=ticket.pk, criterion__name="Tier 1 time limit").first()

    move = wait_for(escalated, "the scheduled sweep's escalation", logs)

    assert move.actor is None
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.board, ticket.tier) == (desk.support, 2)
    assert "Sending due task sweep-due-tickets" in celery_processes["beat"].read_text()
    # The move's notification went through Redis to the same worker, which
    # emailed Sam (he works Support) with the console backend.
    wait_for(
        lambda: f"#{ticket.pk} escalated to Support: Overdue on Triage" in celery_processes["worker"].read_text(),
        "the escalation email",
        logs,
    )
    assert "To: sam@example.com" in celery_processes["worker"].read_text()
