"""The warning before a breach: who is told, and the sweep that tells them.

A time criterion may set a lead (``Criterion.warn_before_minutes`` or
``warn_at_percent``, read as ``Criterion.warning_lead``). A ticket whose
deadline is that close is warned once for that deadline: its assignee, or
every technician of its board when nobody is assigned.

Why read the ticket's deadline rather than keep a schedule of warnings: the
deadline already lives on the ticket and every write that changes a clock
rewrites it (``routing.services``). A warning derived from it follows every
move and recompute with no second copy to keep in step; a move or a new
deadline simply stops the old one from being due, and a warning already sent
says it no longer applies (``BreachWarning.status``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from boards.models import Technician, Ticket
from routing.models import Criterion, limit_minutes_sql

from .models import BreachWarning, Notification

log = logging.getLogger(__name__)

SECOND = Value(timedelta(seconds=1), output_field=DurationField())


def _lead(prefix: str = "", priority_field: str | None = None) -> ExpressionWrapper:
    """``Criterion.warning_lead_for`` in SQL: minutes before, or the rest of the limit's share, in whole seconds.

    The limit is the ticket's priority's (``priority_field``), or without one
    the longest of any priority (``routing.models.limit_minutes_sql``).
    """
    seconds = Coalesce(
        F(f"{prefix}warn_before_minutes") * 60,
        limit_minutes_sql(prefix, priority_field) * (100 - F(f"{prefix}warn_at_percent")) * 60 / 100,
        output_field=IntegerField(),
    )
    return ExpressionWrapper(seconds * SECOND, output_field=DurationField())


def _longest_lead() -> Subquery:
    """The longest lead of any active time criterion that warns (NULL when none does)."""
    warning = Criterion.objects.active().filter(trigger=Criterion.Trigger.TIME)
    warning = warning.filter(Q(warn_before_minutes__isnull=False) | Q(warn_at_percent__isnull=False))
    # Grouped by a column every row shares (active), so that the aggregate is
    # one row a subquery can return; Django's aggregate() would run at once.
    return Subquery(
        warning.annotate(lead=_lead()).order_by().values("active").annotate(longest=Max("lead")).values("longest")[:1],
        output_field=DurationField(),
    )


def due(now: datetime):
    """Open tickets whose warning moment has come and whose deadline has not passed, not yet warned for it.

    One statement, bounded by ``ticket_deadline_idx``: ``deadline_at`` between
    now and now plus the longest lead (a scalar subquery over the few
    criteria, which PostgreSQL evaluates once and uses as the index bound),
    then each ticket's own lead, then an anti-join on the unique
    (ticket, deadline) index of the warnings sent. A deadline already passed
    is the sweep's to escalate, not to warn about.
    """
    warn_at = ExpressionWrapper(
        F("deadline_at") - _lead("deadline_criterion__", "priority"), output_field=DateTimeField()
    )
    sent = BreachWarning.objects.filter(ticket=OuterRef("pk"), deadline_at=OuterRef("deadline_at"))
    return (
        Ticket.objects.filter(
            deadline_at__gt=now,
            deadline_at__lte=ExpressionWrapper(Value(now) + _longest_lead(), output_field=DateTimeField()),
            deadline_criterion__active=True,
        )
        .alias(warn_at=warn_at)
        .filter(warn_at__lte=now)
        .exclude(Exists(sent))
    )


def recipients(tickets: list[Ticket]) -> dict[int, list[int]]:
    """Who is told about each ticket: its active assignee, else its board's active technicians (user ids).

    Two queries for any number of tickets.
    """
    assignees = {t.assignee_id for t in tickets if t.assignee_id}
    active = set(get_user_model().objects.filter(pk__in=assignees, is_active=True).values_list("pk", flat=True))
    unassigned = {t.board_id for t in tickets if t.assignee_id not in active}
    by_board: dict[int, list[int]] = {}
    for board_id, user_id in (
        Technician.objects.filter(boards__in=unassigned, user__is_active=True)
        .order_by("user_id")
        .values_list("boards", "user_id")
    ):
        by_board.setdefault(board_id, []).append(user_id)
    return {t.pk: [t.assignee_id] if t.assignee_id in active else by_board.get(t.board_id, []) for t in tickets}


def warn_batch(now: datetime, batch_size: int = 200) -> tuple[int, int]:
    """Warn one batch of due tickets; return (tickets taken, warnings sent).

    1. In one transaction, lock up to ``batch_size`` due tickets with
       ``FOR UPDATE SKIP LOCKED`` (ticket rows only): a concurrent sweep takes
       others, never the same ones, and a move in progress is left for the
       next tick, which then reads the ticket's new deadline.
    2. Read the warnings already sent for them again, in a new statement: a
       sweep that committed between our snapshot and our lock is seen now.
    3. Insert one ``BreachWarning`` per ticket (the unique constraint is the
       database's last word if anything slips past 1 and 2: the transaction
       fails whole and the next tick tries again) and one ``Notification``
       per recipient; queue the emails for after the commit.
    """
    with transaction.atomic():
        locked = list(
            due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("deadline_criterion")
            .order_by("deadline_at", "pk")[:batch_size]
        )
        if not locked:
            return 0, 0
        sent = set(BreachWarning.objects.filter(ticket__in=locked).values_list("ticket_id", "deadline_at"))
        fresh = [t for t in locked if (t.pk, t.deadline_at) not in sent]
        warnings = BreachWarning.objects.bulk_create(
            BreachWarning(
                ticket=t,
                deadline_at=t.deadline_at,
                board_id=t.board_id,
                criterion=t.deadline_criterion,
                warn_at=t.deadline_at - t.deadline_criterion.warning_lead_for(t.priority),
                created_at=now,
            )
            for t in fresh
        )
        told = recipients(fresh)
        notifications = Notification.objects.bulk_create(
            Notification(user_id=user_id, warning=warning, created_at=now)
            for warning in warnings
            for user_id in told[warning.ticket_id]
        )
        if notifications:
            from .tasks import email_warnings

            ids = [n.pk for n in notifications]
            # As routing does for moves: after the commit, robust (a broker
            # that is down is logged and never undoes the warning), a lambda
            # so that Django can name it if it fails.
            transaction.on_commit(lambda: email_warnings.delay(ids), robust=True)
    return len(locked), len(warnings)


def send_due_warnings(now: datetime | None = None, *, batch_size: int = 200, max_batches: int = 100) -> int:
    """Warn every ticket whose warning is due; return the warnings sent.

    Beat runs this every few seconds and almost always nothing is due, so it
    starts with a probe: ``due(now)`` with LIMIT 1, one indexed read outside
    any transaction.
    """
    now = now or timezone.now()
    if not due(now).exists():
        return 0
    total = 0
    for _ in range(max_batches):
        taken, sent = warn_batch(now, batch_size)
        total += sent
        if taken == 0:
            break
    return total
