"""Celery tasks: the warning sweep (beat) and the warning emails."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from helpdesk.celery import tick

from . import warnings
from .models import Notification

log = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.send_due_warnings", ignore_result=True)
def send_due_warnings() -> int:
    """Beat runs this every SWEEP_INTERVAL_SECONDS (5): warn tickets whose deadline is near.

    The same fast tick as routing's sweep, for the same reasons (its
    docstring): the deadline lives in the database alone, a quiet tick is one
    indexed query, and a lost tick is made up by the next. Exactly once is the
    database's: row locks with SKIP LOCKED and a unique (ticket, deadline).
    """
    sent = 0
    with tick("warnings"):
        sent = warnings.send_due_warnings()
    if sent:
        log.info("warned %d ticket(s) of a coming breach", sent)
    return sent


@shared_task(
    name="notifications.tasks.email_warnings",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def email_warnings(notification_ids: list[int]) -> int:
    """Email each notified person with an address; one email per person. Returns the emails sent.

    Queued after the warnings' commit, so a failure here loses an email, never a warning.
    """
    by_user: dict[int, list[Notification]] = {}
    for notification in (
        Notification.objects.filter(pk__in=notification_ids)
        .select_related("user", "warning__ticket", "warning__board")
        .order_by("warning__deadline_at", "pk")
    ):
        if notification.user.email and notification.user.is_active:
            by_user.setdefault(notification.user_id, []).append(notification)
    emails = 0
    for notifications in by_user.values():
        user = notifications[0].user
        lines = []
        for n in notifications:
            ticket = n.warning.ticket
            when = timezone.localtime(n.warning.deadline_at).strftime("%H:%M")
            lines.append(f"{ticket.number} {ticket.title} — {n.warning.board.name}, breaches at {when}")
        if len(notifications) == 1:
            ticket = notifications[0].warning.ticket
            subject = f"[Switchback] {ticket.number} nears its time limit: {ticket.title}"
        else:
            subject = f"[Switchback] {len(notifications)} tickets near their time limit"
        emails += send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [user.email])
    return emails
