"""End to end with real processes: beat's minute reads Dovecot, a real worker opens the ticket and
sends the acknowledgement over SMTP; a technician's customer note leaves through the same worker.

Celery beat and a worker run as subprocesses against this test's PostgreSQL
database and Redis (its own database number, as tests/test_celery_worker.py
explains); Dovecot and aiosmtpd are the fixtures of tests/requesters/conftest.py.
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

from boards.models import Ticket
from boards.services import add_note
from requesters.models import OutboundMessage
from tests.factories import live_database_url
from tests.requesters.conftest import email

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CELERY = str(Path(sys.executable).with_name("celery"))
PROJECT = Path(__file__).resolve().parent.parent.parent
WAIT_SECONDS = 60


def _overdue_poll_schedule(path: Path) -> None:
    """A beat schedule whose mailbox poll last ran an hour ago: beat sends it at once."""
    from helpdesk.celery import app

    spec = settings.CELERY_BEAT_SCHEDULE["poll-mailboxes"]
    with shelve.open(str(path)) as store:
        store["entries"] = {
            "poll-mailboxes": ScheduleEntry(
                name="poll-mailboxes",
                task=spec["task"],
                schedule=every(spec["schedule"]),
                options=spec["options"],
                last_run_at=datetime.now(UTC) - timedelta(hours=1),
            )
        }
        store["__version__"] = celery_version
        store["tz"] = app.conf.timezone
        store["utc_enabled"] = app.conf.enable_utc


def _wait_for(condition, what: str, logs: list[Path]):
    give_up = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s.\n{tails}")


@pytest.fixture
def mail_processes(real_celery, transactional_db, tmp_path, mailbox, imap_account, smtp):
    from helpdesk.celery import app

    app.control.purge()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": real_celery,
        "SWITCHBACK_VAR_DIR": str(tmp_path),
        "MAILBOX_TEST_PASSWORD": imap_account[1],
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": settings.EMAIL_HOST,
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "false",
        "SITE_URL": "https://desk.example.test",
    }
    schedule = tmp_path / "celerybeat-schedule"
    _overdue_poll_schedule(schedule)
    worker = f"mail-test-{os.getpid()}@%h"
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    commands = {
        "worker": [CELERY, "-A", "helpdesk", "worker", "--pool=solo", "-l", "info", "-n", worker, *quiet],
        "beat": [CELERY, "-A", "helpdesk", "beat", "-s", str(schedule), "-l", "info"],
    }
    processes, logs = [], []
    try:
        for name, command in commands.items():
            log = tmp_path / f"{name}.log"
            logs.append(log)
            with log.open("w") as out:
                processes.append(subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT))
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


def test_beat_and_a_worker_turn_mail_into_a_ticket_and_answer_it(mailbox, inbox, smtp, tier1, mail_processes):
    inbox.deliver(email(subject="Outlook won't start", message_id="<outlook@northwind.example>"))

    ticket = _wait_for(lambda: Ticket.objects.filter(title="Outlook won't start").first(), "the ticket", mail_processes)
    ack = _wait_for(lambda: smtp.to("pat@northwind.example"), "the acknowledgement", mail_processes)[0]
    assert ack["Subject"] == f"[#{ticket.pk}] Outlook won't start"
    assert "https://desk.example.test/help/status/" in ack.get_content()
    assert inbox.uids("UNSEEN") == []

    add_note(ticket, author=tier1, body="Safe mode fixed it; try now.", internal=False)

    _wait_for(lambda: len(smtp.messages) == 2, "the note's email", mail_processes)
    assert smtp.messages[1]["Subject"] == f"Re: [#{ticket.pk}] Outlook won't start"
    assert smtp.messages[1]["In-Reply-To"] == "<outlook@northwind.example>"
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}
