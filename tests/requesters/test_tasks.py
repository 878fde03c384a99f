"""Beat's minute: mail intake is off until a mailbox is configured, and the outbox is flushed."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command

from requesters import tasks


def test_beat_reads_the_mailboxes_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["poll-mailboxes"]

    assert (entry["task"], entry["schedule"]) == ("requesters.tasks.poll_mailboxes", 60.0)
    assert entry["options"]["expires"] < 60


def test_with_no_mailbox_the_minute_costs_two_queries_and_reads_no_mail(db, django_assert_num_queries, monkeypatch):
    def no_imap(*args, **kwargs):
        raise AssertionError("no mailbox is configured: nothing may connect")

    monkeypatch.setattr("requesters.imap.connect", no_imap)
    with django_assert_num_queries(2):
        assert tasks.poll_mailboxes() == {"sent": 0}


def test_poll_mail_says_intake_is_off(db, capsys):
    call_command("poll_mail")

    assert "No active mailbox: mail intake is off." in capsys.readouterr().out
