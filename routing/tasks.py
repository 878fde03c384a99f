"""Celery tasks: the scheduler's sweep and move notifications."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from helpdesk.celery import tick

from . import services
from .models import Direction, Move

log = logging.getLogger(__name__)

VERBS = {Direction.ESCALATE: "escalated", Direction.DE_ESCALATE: "de-escalated", Direction.TRANSFER: "transferred"}


@shared_task(name="routing.tasks.sweep_due_tickets", ignore_result=True)
def sweep_due_tickets() -> int:
    """Beat runs this every few seconds (SWEEP_INTERVAL_SECONDS, 5): escalate every ticket whose deadline passed.

    Why a fast tick, and not a wake-up timed to the next deadline: the tick
    keeps the deadline in the database alone, where every change of a clock
    already writes it. A timed wake-up would be a second copy of "when is the
    next deadline" in the broker (an ETA task) that every move, edit of a
    criterion and restart must cancel and reschedule; one missed or lost makes
    a late escalation that nothing notices, and Redis visibility timeouts make
    long ETAs fire twice. The tick costs, when nothing is due (almost always),
    one indexed query with LIMIT 1 (``services.sweep``'s probe) and one small
    message every 5 seconds; a deadline becomes a move within one interval
    plus the worker's pick-up, and a tick lost (beat down, worker busy, the
    message expired) is made up by the next one, which finds the same
    tickets due. The exactly-once guarantees stay the sweep's own (SKIP
    LOCKED, one transaction per batch), so overlapping ticks are harmless.
    """
    moved = 0
    with tick("sweep"):
        moved = services.sweep()
    if moved:
        log.info("sweep moved %d ticket(s)", moved)
    return moved


@shared_task(name="routing.tasks.sweep_inactive_tickets", ignore_result=True)
def sweep_inactive_tickets() -> tuple[int, int]:
    """Beat runs this every minute: fire inactivity criteria (``services.sweep_inactive``).

    A minute is plenty for limits counted in working hours, and keeps the
    5-second deadline tick's no-op cost at its one probe.
    """
    moved, notified = 0, 0
    with tick("inactivity sweep"):
        moved, notified = services.sweep_inactive()
    if moved or notified:
        log.info("inactivity sweep moved %d and notified about %d ticket(s)", moved, notified)
    return moved, notified


@shared_task(
    name="routing.tasks.notify_inactive",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_inactive(ticket_id: int, criterion_id: int) -> int:
    """Email the ticket's assignee (else its board's technicians) that nobody has touched it."""
    from boards.models import Ticket

    from .models import Criterion

    ticket = Ticket.objects.select_related("board", "assignee").filter(pk=ticket_id).first()
    criterion = Criterion.objects.filter(pk=criterion_id).first()
    if ticket is None or criterion is None:
        return 0
    if ticket.assignee is not None and ticket.assignee.is_active and ticket.assignee.email:
        recipients = [ticket.assignee.email]
    else:
        recipients = _recipients(ticket.board, None)
    if not recipients:
        return 0
    subject = f"[Switchback] {ticket.number} untouched for {criterion.idle_hours} working hours: {ticket.title}"
    body = "\n".join(
        [
            f"{ticket.number} {ticket.title}",
            f"{ticket.board.name} · tier {ticket.tier}",
            f"Why: {criterion.name} — no note, move or update for {criterion.idle_hours} working hours.",
        ]
    )
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def _recipients(board, actor) -> list[str]:
    """The active technicians of ``board`` with an email address, except the one who made the move."""
    return sorted(
        set(
            board.technicians.filter(user__is_active=True)
            .exclude(user__email="")
            .exclude(user=actor)
            .values_list("user__email", flat=True)
        )
    )


def _one_move_email(move: Move) -> tuple[str, str]:
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
    return subject, "\n".join(lines)


def _batch_email(moves: list[Move]) -> tuple[str, str]:
    """One email for a batch's moves to one board: "14 tickets escalated to Support by the Tier 1 time limit"."""
    board = moves[0].to_board
    verbs = {VERBS.get(move.direction, "moved") for move in moves}
    verb = verbs.pop() if len(verbs) == 1 else "moved"
    criteria = {move.criterion.name for move in moves if move.criterion}
    why = f" by the {criteria.pop()}" if len(criteria) == 1 else ""
    subject = f"[Switchback] {len(moves)} tickets {verb} to {board.name}{why}"
    lines = [f"{len(moves)} tickets {verb} to {board.name}{why}:", ""]
    for move in moves:
        ticket = move.ticket
        where = f"{move.from_board} → {move.to_board} · {move.to_column.name} · tier {move.to_tier}"
        because = "" if why else f" ({move.criterion.name if move.criterion else 'moved by hand'})"
        lines.append(f"{ticket.number} {ticket.title} — {where}{because}")
    lines += ["", f"By: {moves[0].actor_name}"]
    notes = {move.note for move in moves if move.note}
    if len(notes) == 1:
        lines.append(notes.pop())
    return subject, "\n".join(lines)


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
    recipients = _recipients(move.to_board, move.actor)
    if not recipients:
        return 0
    subject, body = _one_move_email(move)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


@shared_task(
    name="routing.tasks.notify_moves",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_moves(move_ids: list[int]) -> int:
    """Email the technicians of one board about a batch of moves to it, in one email.

    The sweep queues one of these per batch and target board, after the
    batch's commit: a backlog of 57,700 escalations is a few hundred emails,
    not 57,700. One move alone reads as ``notify_move``'s email. Moves whose
    tickets were deleted meanwhile are left out. Returns the emails sent (0 or 1).
    """
    moves = list(
        Move.objects.select_related("ticket", "criterion", "to_board", "to_column", "from_board", "actor")
        .filter(pk__in=move_ids)
        .order_by("pk")
    )
    if not moves:
        log.info("moves %s are gone; nothing to notify", move_ids)
        return 0
    # The sweep's batch has one actor (the scheduler); exclude() of None is harmless.
    recipients = _recipients(moves[0].to_board, moves[0].actor)
    if not recipients:
        return 0
    subject, body = _one_move_email(moves[0]) if len(moves) == 1 else _batch_email(moves)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
