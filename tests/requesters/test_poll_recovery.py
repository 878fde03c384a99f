"""Exactly once against real PostgreSQL and a real Dovecot: polls that overlap, a poll killed midway.

Each message's Message-ID is unique per mailbox in the database, and a message
is flagged on the server only after its ticket has committed. So whatever the
timing, every message delivered becomes exactly one ticket, and none is left
unread on the server once a poll has finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections

from boards.models import Ticket
from requesters import imap
from requesters.models import InboundMessage
from tests.factories import live_database_url
from tests.processes import held_then_killed
from tests.requesters.conftest import email

PROJECT = Path(__file__).resolve().parent.parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # One sender writes every message here; the per-sender limit is another test's subject.
    settings.REQUESTER_SENDER_LIMIT_PER_HOUR = 1000


def _each_once(count: int) -> None:
    ids = [f"m{n}@northwind.example" for n in range(count)]
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == sorted(ids)
    titles = sorted(Ticket.objects.values_list("title", flat=True))
    assert titles == sorted(f"Request {n}" for n in range(count))


def _deliver(inbox, count: int) -> None:
    inbox.deliver(*(email(subject=f"Request {n}", message_id=f"<m{n}@northwind.example>") for n in range(count)))


def test_two_polls_at_once_import_each_message_once(mailbox, inbox):
    _deliver(inbox, 12)
    start = threading.Barrier(2)

    def poll_in_a_thread():
        try:
            start.wait(timeout=30)
            return imap.poll(mailbox)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(poll_in_a_thread) for _ in range(2)]]

    assert sum(r.counts.get("opened", 0) for r in results) == 12
    _each_once(12)
    assert inbox.uids("UNSEEN") == []


def _poll_env(imap_account) -> dict[str, str]:
    """A poll in its own process, on the test database and the test mailbox, without Redis."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DATABASE_URL": live_database_url(),
        "SECRET_KEY": "tests-only-secret-key",
        "MAILBOX_TEST_PASSWORD": imap_account[1],
        # The killed poll's acknowledgements go nowhere: these tests are about imports.
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "REQUESTER_SENDER_LIMIT_PER_HOUR": "1000",
    }
    env.pop("REDIS_URL", None)
    return env


def test_a_poll_killed_midway_leaves_each_message_imported_exactly_once(mailbox, inbox, imap_account):
    _deliver(inbox, 40)
    env = _poll_env(imap_account)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "poll_mail", "--mailbox", mailbox.name, "--verbosity", "2"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Killed as soon as it has imported and flagged its second message.
            for _ in range(2):
                line = pool.submit(proc.stdout.readline).result(timeout=60)
                assert line.startswith(mailbox.name), proc.stderr.read() if proc.poll() is not None else line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # Should the killed session have died inside a transaction, PostgreSQL
    # rolls it back as it sees the socket close; an insert of the same
    # Message-ID below would wait for that, then go ahead.
    imported_before = InboundMessage.objects.count()
    assert 2 <= imported_before < 40, "the poll was not killed midway"

    result = imap.poll(mailbox)

    assert result.counts.get("opened", 0) == 40 - imported_before
    _each_once(40)
    assert inbox.uids("UNSEEN") == []
    assert imap.poll(mailbox).counts == {}


# A poll in its own process that stops after importing its third message,
# committed but not yet flagged on the server, and says so: then SIGKILL.
HOLDING_POLL = """
import sys, threading
import django
django.setup()
from requesters import imap
from requesters.models import Mailbox

real_done, calls = imap._Server.done, 0

def hold_before_the_third_flag(self, uid):
    global calls
    calls += 1
    if calls == 3:
        print("HOLDING", uid, flush=True)
        threading.Event().wait()  # killed here: imported, never flagged
    return real_done(self, uid)

imap._Server.done = hold_before_the_third_flag
imap.poll(Mailbox.objects.get(name=sys.argv[1]))
"""


def test_a_poll_killed_between_commit_and_flag_does_not_import_that_message_twice(mailbox, inbox, imap_account):
    _deliver(inbox, 10)
    with held_then_killed(HOLDING_POLL, mailbox.name, env=_poll_env(imap_account)) as words:
        held_uid = words[0]  # the poll is SIGKILLed as the block ends

    # Three imported; the server still shows the third (and the rest) unread.
    assert InboundMessage.objects.count() == 3
    assert held_uid in inbox.uids("UNSEEN")
    assert len(inbox.uids("UNSEEN")) == 8

    result = imap.poll(mailbox)

    assert (result.counts, result.repeats) == ({"opened": 7}, 1)
    _each_once(10)
    assert inbox.uids("UNSEEN") == []
