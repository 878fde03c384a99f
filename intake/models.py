"""Alert sources (monitoring that may open tickets) and the link from an alert to its ticket.

Tickets are opened, resolved and reopened only through ``routing.services``;
these models hold who may send alerts, where their tickets land, and which
ticket each alert (``fingerprint``) belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from boards.models import Board, Column, Ticket

DEFAULT_SEVERITIES = {"critical": 1, "error": 2, "high": 2, "warning": 3, "info": 4, "low": 4}


def new_key() -> str:
    """The source's public id in its URLs: unguessable enough not to be enumerated, not a secret."""
    return secrets.token_urlsafe(9)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # A plain SHA-256 is enough: the token is 256 random bits, never a password
    # someone chose, so there is nothing for a slow hash to protect against.
    return hashlib.sha256(token.encode()).hexdigest()


def _default_severities() -> dict[str, int]:
    return dict(DEFAULT_SEVERITIES)


class AlertSource(models.Model):
    """A monitoring system allowed to open tickets: Alertmanager, or anything speaking PagerDuty Events v2."""

    name = models.CharField(max_length=80, unique=True)
    key = models.CharField(max_length=16, unique=True, default=new_key, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    active = models.BooleanField(default=True, help_text="An inactive source's deliveries are refused (404).")
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="alert_sources")
    column = models.ForeignKey(
        Column,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where new tickets land; empty for the board's entry column.",
    )
    severity_priorities = models.JSONField(
        default=_default_severities,
        help_text='Severity → priority (1 critical … 4 low), e.g. {"critical": 1, "warning": 3}.',
    )
    default_priority = models.PositiveSmallIntegerField(
        choices=Ticket.Priority.choices, default=Ticket.Priority.P3, help_text="For a severity not in the map."
    )
    client_label = models.CharField(
        max_length=100, blank=True, default="client", help_text="The label whose value names the client."
    )
    flap_window_minutes = models.PositiveIntegerField(
        default=30, help_text="An alert firing again this soon after resolving reopens its ticket."
    )
    still_firing_minutes = models.PositiveIntegerField(
        default=60, help_text="At most one “still firing” note this often (0: none)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_priority__gte=1, default_priority__lte=4), name="alertsource_priority_1_to_4"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def set_token(self, token: str | None = None) -> str:
        """Set a new secret token and return it: only its hash is stored, so this is the one chance to read it."""
        token = token or new_token()
        self.token_hash = hash_token(token)
        return token

    def token_matches(self, token: str) -> bool:
        return bool(self.token_hash) and hmac.compare_digest(self.token_hash, hash_token(token))

    def alertmanager_path(self) -> str:
        return reverse("intake_alertmanager", args=[self.key])

    def events_path(self) -> str:
        return reverse("intake_events", args=[self.key])

    def priority_for(self, severity: str) -> int:
        value = self.severity_priorities.get((severity or "").strip().lower()) if severity else None
        return value if isinstance(value, int) and 1 <= value <= 4 else self.default_priority

    def clean(self) -> None:
        if self.column_id and self.board_id and self.column.board_id != self.board_id:
            raise ValidationError({"column": f"{self.column} is not a column of the {self.board} board."})
        if not isinstance(self.severity_priorities, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4
            for k, v in self.severity_priorities.items()
        ):
            raise ValidationError({"severity_priorities": "A map of severity names to priorities 1–4."})
        self.severity_priorities = {k.strip().lower(): v for k, v in self.severity_priorities.items()}


class AlertQuerySet(models.QuerySet):
    def current(self) -> AlertQuerySet:
        return self.filter(current=True)


class Alert(models.Model):
    """One ticket's alert: which source and fingerprint opened it, and what the source last said.

    A fingerprint has one *current* row (the database holds that, see the
    constraint): repeats and resolutions go to its ticket. When an alert fires
    again after its flapping window, the old row stops being current and a new
    ticket gets a new row, so every ticket from an alert keeps its own.
    """

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Alertmanager"
        EVENT = "event", "Event"

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=255)
    current = models.BooleanField(default=True)
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="alert")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FIRING)
    # The source's own times (Alertmanager's startsAt/endsAt): they tell a late
    # retry of an old delivery from a new firing.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Ours: when the current firing arrived, when it resolved, the last "still firing" note.
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    noted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reopened = models.PositiveIntegerField(default=0)
    # Resolved at the source while a technician had worked the ticket: it stays
    # open for them, and the card says so.
    resolved_while_worked = models.BooleanField(default=False)

    objects = AlertQuerySet.as_manager()

    class Meta:
        constraints = [
            # Two deliveries of one new alert at once give one ticket: the
            # second insert fails here and is handled as a repeat.
            models.UniqueConstraint(
                fields=["source", "fingerprint"], condition=Q(current=True), name="alert_one_current_per_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.name} · {self.name or self.fingerprint}"
