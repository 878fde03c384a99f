"""Celery tasks: read every mailbox each minute, and send the outbox."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import imap, services
from .models import Mailbox

log = logging.getLogger(__name__)


@shared_task(name="requesters.tasks.poll_mailboxes")
def poll_mailboxes() -> dict:
    """Beat's task: read each active mailbox, then send what the outbox holds due.

    With no mailbox configured this is one query (and the outbox's one indexed
    query): mail intake is off until a manager adds a mailbox.
    """
    results = {}
    for mailbox in Mailbox.objects.filter(active=True).select_related("board", "column"):
        results[mailbox.name] = imap.poll_and_record(mailbox).summary()
    results["sent"] = services.flush_outbox(now=timezone.now())
    return results


@shared_task(name="requesters.tasks.send_outbound", ignore_result=True)
def send_outbound(pk: int) -> str:
    """The first try at sending one message, queued after the commit that wrote it.

    Retries are not Celery countdowns: the next attempt's time is stored on the
    row and the minute's flush (poll_mailboxes) sends it, so a lost task or a
    restarted worker loses nothing.
    """
    return services.send_one(pk)
