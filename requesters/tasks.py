"""Celery tasks: read every mailbox each minute, send the outbox, and tell the desk a requester replied."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
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


@shared_task(
    name="requesters.tasks.notify_reply",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_reply(move_id: int, note_id: int) -> int:
    """Email the ticket's assignee (else its board's technicians) that the requester's reply moved it back to work.

    Queued after the commit of the reply (``services.add_reply``); who is told
    is the breach warning's rule (``notifications.warnings.recipients``).
    Returns the number of emails sent.
    """
    from boards.models import Note
    from notifications.warnings import recipients
    from routing.models import Move

    move = Move.objects.select_related("ticket", "from_column", "to_column").filter(pk=move_id).first()
    note = Note.objects.select_related("requester_mark").filter(pk=note_id).first()
    if move is None or note is None:
        log.info("move %s or note %s is gone; nothing to notify", move_id, note_id)
        return 0
    ticket = move.ticket
    user_ids = recipients([ticket])[ticket.pk]
    to = sorted(set(get_user_model().objects.filter(pk__in=user_ids).exclude(email="").values_list("email", flat=True)))
    if not to:
        return 0
    who = note.requester_mark.display_name if hasattr(note, "requester_mark") else "The requester"
    verb = "reopened" if move.from_column.is_done else f"back from {move.from_column.name}"
    # A header never carries a line break, whatever the title holds.
    title = " ".join(ticket.title.split())
    subject = f"[Switchback] {ticket.number} {verb}, {who} replied: {title}"
    body = "\n".join(
        [
            f"{ticket.number} {ticket.title}",
            f"{move.from_column.name} → {move.to_column.name}",
            "",
            services.requester_words(note),
            "",
            settings.SITE_URL.rstrip("/") + reverse("ticket", args=[ticket.pk]),
        ]
    )
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
