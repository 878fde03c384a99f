"""A real Celery worker and beat for the integration tests (the ``start_celery`` fixture).

Both run as subprocesses against this test's PostgreSQL database and Redis,
exactly as `make run` or production would start them. Redis must be a
database of its own (REDIS_URL=redis://…/N): any other worker listening on it
could take the task, and the test would wait for nothing. Registered for the
whole suite by tests/conftest.py (``pytest_plugins``).
"""

from __future__ import annotations

import os
import shelve
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import __version__ as celery_version
from celery.beat import ScheduleEntry
from celery.schedules import schedule as every
from django.conf import settings

from tests.factories import live_database_url
from tests.processes import stop

CELERY = str(Path(sys.executable).with_name("celery"))
PROJECT = Path(__file__).resolve().parent.parent


def write_overdue_schedule(path: Path, entry: str) -> None:
    """A beat schedule file whose ``entry`` (of CELERY_BEAT_SCHEDULE) last ran an hour ago, as after downtime.

    A fresh schedule file would not do: beat stamps a new interval entry with
    "last run: now" and first sends it a full interval (60 s) later. An entry
    that is overdue is sent the moment beat starts.
    """
    from helpdesk.celery import app

    spec = settings.CELERY_BEAT_SCHEDULE[entry]
    with shelve.open(str(path)) as store:
        store["entries"] = {
            entry: ScheduleEntry(
                name=entry,
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


@pytest.fixture
def start_celery(real_celery, transactional_db, tmp_path) -> Iterator:
    """``start_celery(entry, **env)`` starts a worker and beat, beat sending ``entry`` at once; returns their logs.

    ``env`` adds to the processes' environment (the mail settings, say). The
    logs come by name, ``{"worker": Path, "beat": Path}``. Both processes are
    stopped on teardown, and so their database connections closed before the
    test database is emptied.
    """
    from helpdesk.celery import app

    processes: list[subprocess.Popen] = []

    def start(entry: str, **env: str) -> dict[str, Path]:
        app.control.purge()  # nothing left over from an earlier run on this Redis database
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": live_database_url(),
            "REDIS_URL": real_celery,
            "SWITCHBACK_VAR_DIR": str(tmp_path),
            **env,
        }
        schedule = tmp_path / "celerybeat-schedule"
        write_overdue_schedule(schedule, entry)
        worker = f"{entry}-test-{os.getpid()}@%h"
        quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        commands = {
            # Both queues, as a small site's one worker would (the general one and the clock's, settings).
            "worker": [
                *(CELERY, "-A", "helpdesk", "worker", "--pool=solo", "-l", "info", "-n", worker, *quiet),
                f"--queues=celery,{settings.DEADLINES_QUEUE}",
            ],
            "beat": [CELERY, "-A", "helpdesk", "beat", "-s", str(schedule), "-l", "info"],
        }
        logs = {}
        for name, command in commands.items():
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("w") as log:
                processes.append(
                    subprocess.Popen(command, cwd=PROJECT, env=environment, stdout=log, stderr=subprocess.STDOUT)
                )
        return logs

    yield start
    stop(*processes)
