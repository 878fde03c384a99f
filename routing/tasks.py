"""Celery tasks: the scheduler's sweep and move notifications."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from . import services
from .models import Direction, Move

log = logging.getLogger(__name__)

VERBS = {Direction.ESCALATE: "escalated", Direction.DE_ESCALATE: "de-escalated", Direction.TRANSFER: "transferred"}


@shared_task(name="routing.tasks.sweep_due_tickets")
def sweep_due_tickets() -> int:
    """Beat runs this every minute: escalate every ticket whose deadline passed."""
    moved = services.sweep()
    if moved:
        log.info("sweep moved %d ticket(s)", moved)
    return moved


@shared_task(
    name="routing.tasks.notify_move",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_move(move_id: int) -> int:
    """Email the technicians who work the board a ticket was moved to.

    Returns the number of emails sent. The move is committed before this is
    queued, so a failure here (retried on OSError, SMTP errors included) can
    only lose an email, never the move.
    """
    move = (
        Move.objects.select_related("ticket", "criterion", "to_board", "to_column", "from_board", "actor")
        .filter(pk=move_id)
        .first()
    )
    if move is None:
        # The ticket (and its moves) was deleted before the worker got here.
        log.info("move %s is gone; nothing to notify", move_id)
        return 0
    recipients = sorted(
        set(
            move.to_board.technicians.filter(user__is_active=True)
            .exclude(user__email="")
            .exclude(user=move.actor)
            .values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return 0
    ticket = move.ticket
    verb = VERBS.get(move.direction, "moved")
    subject = f"[Switchback] {ticket.number} {verb} to {move.to_board.name}: {ticket.title}"
    lines = [
        f"{ticket.number} {ticket.title}",
        f"{move.from_board} → {move.to_board} · {move.to_column.name} · tier {move.to_tier}",
        f"Why: {move.criterion.name if move.criterion else 'moved by hand'}",
        f"By: {move.actor_name}",
    ]
    if move.note:
        lines += ["", move.note]
    return send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, recipients)
