"""Warnings before a breach, and each person's notifications of them.

A ``BreachWarning`` is the fact "this ticket was warned about this deadline":
at most one per ticket and deadline, held by a unique constraint, so two
sweeps at once cannot warn twice. A ``Notification`` is one person's copy,
with its own read mark. Whether a warning still applies is not stored: it is
read off the ticket (``BreachWarning.status``), so a move or a recomputed
deadline cancels it with no write here and no hook in the routing services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from boards.models import Board, Ticket
from routing.models import Criterion


@dataclass(frozen=True)
class Status:
    applies: bool
    text: str


class BreachWarning(models.Model):
    """One warning that a ticket's deadline is near, sent once per (ticket, deadline)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    # Where the ticket stood and what it was heading for when warned: the
    # deadline is the warning's identity, the board and criterion say why.
    deadline_at = models.DateTimeField()
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="+")
    criterion = models.ForeignKey(Criterion, null=True, on_delete=models.SET_NULL, related_name="+")
    warn_at = models.DateTimeField(help_text="The moment the criterion's lead said to warn.")
    created_at = models.DateTimeField(help_text="When the sweep sent it.")

    class Meta:
        constraints = [
            # Exactly once per deadline, whatever the sweeps do. Also the index
            # of the sweep's "not warned yet" anti-join: ticket = … AND deadline_at = ….
            models.UniqueConstraint(fields=["ticket", "deadline_at"], name="warning_once_per_deadline"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} warned for {self.deadline_at:%Y-%m-%d %H:%M}"

    def status(self, now: datetime) -> Status:
        """Whether the warning still holds, read off the ticket as it is now, and why not."""
        ticket = self.ticket
        if ticket.resolved_at is not None:
            return Status(False, "No longer applies: the ticket was resolved.")
        if ticket.board_id != self.board_id:
            if self.deadline_at <= now:
                return Status(False, f"The time limit passed; the ticket is now on {ticket.board.name}.")
            return Status(False, f"No longer applies: the ticket moved to {ticket.board.name}.")
        if ticket.deadline_at == self.deadline_at:
            if self.deadline_at <= now:
                return Status(True, "The time limit has passed.")
            return Status(True, "")
        if ticket.deadline_at is None:
            if ticket.clock_started_at is None:
                return Status(False, "No longer applies: its clock is paused.")
            return Status(False, "No longer applies: no time limit applies to it now.")
        return Status(False, "No longer applies: its deadline changed.")


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        """Served by notification_unread_idx (the bell's count)."""
        return self.filter(read_at__isnull=True)

    def latest(self) -> NotificationQuerySet:
        return self.order_by("-created_at", "-pk")


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    warning = models.ForeignKey(BreachWarning, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["warning", "user"], name="notification_once_per_person"),
        ]
        indexes = [
            # The list in the top bar: a person's latest notifications (user = … ORDER BY created_at DESC).
            models.Index(fields=["user", "-created_at"], name="notification_user_latest_idx"),
            # The bell's count on every page: user = … AND read_at IS NULL.
            models.Index(fields=["user"], name="notification_unread_idx", condition=Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.warning} → {self.user}"
