"""Criteria that move tickets between boards and tiers, and the record of every move."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from boards.models import Board, Column, Ticket


class Direction(models.TextChoices):
    ESCALATE = "escalate", "Escalate"
    DE_ESCALATE = "de-escalate", "De-escalate"
    TRANSFER = "transfer", "Transfer"


class CriterionQuerySet(models.QuerySet):
    def active(self) -> CriterionQuerySet:
        return self.filter(active=True)

    def from_position(self, board: Board, tier: int) -> CriterionQuerySet:
        """Active criteria that may fire for a ticket on ``board`` at ``tier``."""
        return (
            self.active()
            .filter(Q(from_board__isnull=True) | Q(from_board=board))
            .filter(Q(from_tier__isnull=True) | Q(from_tier=tier))
        )

    def manual(self) -> CriterionQuerySet:
        """Criteria a technician may invoke by hand (condition criteria too)."""
        return self.filter(trigger__in=Criterion.BY_HAND)


class Criterion(models.Model):
    class Trigger(models.TextChoices):
        TIME = "time", "Time — the scheduler fires it when a clock passes the limit"
        MANUAL = "manual", "Manual — a technician invokes it"
        CONDITION = "condition", "Condition — a ticket fact makes it true (also offered by hand)"

    # Triggers a technician may also invoke by hand; time is the scheduler's alone.
    BY_HAND = (Trigger.MANUAL, Trigger.CONDITION)

    class Condition(models.TextChoices):
        NEEDS_ONSITE = "needs_onsite", "The ticket needs an onsite visit"
        MISSING_SKILL = "missing_skill", "The ticket requires a skill nobody on its board has"

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="Shown to technicians when they pick a criterion.")
    direction = models.CharField(max_length=12, choices=Direction.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)

    from_board = models.ForeignKey(
        Board,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="criteria_out",
        help_text="Empty: applies from any board.",
    )
    from_tier = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: any tier.")
    to_board = models.ForeignKey(
        Board,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="criteria_in",
        help_text="Empty: the ticket stays on its board.",
    )
    to_tier = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: the tier stays.")
    to_column = models.ForeignKey(
        Column,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the target board's first 'new' column.",
    )
    time_limit_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time trigger: active minutes on the board before it fires."
    )
    # A warning before the breach (notifications.warnings sends it): a lead in
    # minutes before the deadline, or a share of the limit. At most one of the two.
    warn_before_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Time trigger: warn the assignee (else the board's technicians) this many minutes before it fires.",
    )
    warn_at_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Time trigger, instead of minutes: warn when this share of the limit has passed (1–99, e.g. 80).",
    )
    condition = models.CharField(max_length=20, choices=Condition.choices, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = CriterionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "criteria"
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="time") | Q(time_limit_minutes__gt=0),
                name="criterion_time_needs_limit",
                violation_error_message="A time criterion needs a time limit of at least one minute.",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="condition") | ~Q(condition=""),
                name="criterion_condition_named",
                violation_error_message="A condition criterion must name its condition.",
            ),
            models.CheckConstraint(
                condition=Q(warn_before_minutes__isnull=True) | Q(warn_at_percent__isnull=True),
                name="criterion_one_warning_lead",
                violation_error_message="Warn either some minutes before the deadline or at a share of the limit, "
                "not both.",
            ),
            models.CheckConstraint(
                condition=Q(trigger="time") | Q(warn_before_minutes__isnull=True, warn_at_percent__isnull=True),
                name="criterion_warning_needs_time",
                violation_error_message="Only a time criterion warns before it fires.",
            ),
            models.CheckConstraint(
                condition=Q(warn_before_minutes__isnull=True)
                | Q(warn_before_minutes__gt=0, warn_before_minutes__lt=F("time_limit_minutes")),
                name="criterion_warning_inside_limit",
                violation_error_message="A warning's minutes must be fewer than the time limit's.",
            ),
            models.CheckConstraint(
                condition=Q(warn_at_percent__isnull=True) | Q(warn_at_percent__gte=1, warn_at_percent__lte=99),
                name="criterion_warning_percent_1_to_99",
                violation_error_message="A warning's share of the limit is a percentage from 1 to 99.",
            ),
            models.CheckConstraint(
                condition=Q(to_board__isnull=False) | Q(to_tier__isnull=False),
                name="criterion_changes_something",
                violation_error_message="A criterion must change the board, the tier, or both.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.trigger == self.Trigger.TIME and not self.time_limit_minutes:
            errors["time_limit_minutes"] = "A time criterion needs a time limit of at least one minute."
        if self.trigger != self.Trigger.TIME and self.time_limit_minutes:
            errors["time_limit_minutes"] = "Only a time criterion has a time limit."
        if self.trigger == self.Trigger.CONDITION and not self.condition:
            errors["condition"] = "A condition criterion must name its condition."
        if self.trigger != self.Trigger.CONDITION and self.condition:
            errors["condition"] = "Only a condition criterion names a condition."
        if self.warn_before_minutes is not None and self.warn_at_percent is not None:
            errors["warn_at_percent"] = "Warn either some minutes before the deadline or at a share of the limit."
        elif self.trigger != self.Trigger.TIME and (
            self.warn_before_minutes is not None or self.warn_at_percent is not None
        ):
            errors["warn_before_minutes"] = "Only a time criterion warns before it fires."
        elif self.warn_before_minutes is not None and not (
            0 < self.warn_before_minutes < (self.time_limit_minutes or 0)
        ):
            errors["warn_before_minutes"] = "A warning's minutes must be at least 1 and fewer than the time limit's."
        elif self.warn_at_percent is not None and not 1 <= self.warn_at_percent <= 99:
            errors["warn_at_percent"] = "A warning's share of the limit is a percentage from 1 to 99."
        if not self.to_board_id and self.to_tier is None:
            errors["to_board"] = "A criterion must change the board, the tier, or both."
        if self.from_board_id and self.to_board_id == self.from_board_id and self.to_tier is None:
            errors["to_board"] = "Moving to the same board without a tier change changes nothing."
        if self.to_column_id:
            target = self.to_board_id or self.from_board_id
            if not target or self.to_column.board_id != target:
                errors["to_column"] = "The target column must belong to the target board."
        if errors:
            raise ValidationError(errors)

    @property
    def warning_lead(self) -> timedelta | None:
        """How long before its deadline a ticket is warned: the minutes set, or the rest of the limit's share.

        Wall time before the deadline (the deadline itself is already in the
        board's working time): "10 minutes before" means ten minutes on the
        clock the technician reads. ``notifications.warnings`` spells the
        same rule in SQL for its sweep; a test holds the two together.
        """
        if self.trigger != self.Trigger.TIME or not self.time_limit_minutes:
            return None
        if self.warn_before_minutes is not None:
            return timedelta(minutes=self.warn_before_minutes)
        if self.warn_at_percent is not None:
            return timedelta(seconds=self.time_limit_minutes * 60 * (100 - self.warn_at_percent) // 100)
        return None

    @property
    def offered_by_hand(self) -> bool:
        return self.trigger in self.BY_HAND

    def destination(self, board: Board, tier: int) -> tuple[Board, int]:
        return (self.to_board if self.to_board_id else board, self.to_tier if self.to_tier is not None else tier)

    def applies_to(self, board: Board, tier: int) -> bool:
        """Whether this criterion may fire for a ticket on ``board`` at ``tier``."""
        if not self.active:
            return False
        if self.from_board_id is not None and self.from_board_id != board.pk:
            return False
        if self.from_tier is not None and self.from_tier != tier:
            return False
        to_board, to_tier = self.destination(board, tier)
        return (to_board.pk, to_tier) != (board.pk, tier)


# A move that changed the ticket's board or tier, not only its column. Spelt
# with < and > rather than != so PostgreSQL matches the Flow page's queries to
# the partial indexes on Move that carry this very condition.
ROUTING_MOVE = (
    Q(from_board__lt=F("to_board"))
    | Q(from_board__gt=F("to_board"))
    | Q(from_tier__lt=F("to_tier"))
    | Q(from_tier__gt=F("to_tier"))
)
# A ticket's first move: it was opened on a board.
OPENING_MOVE = Q(from_board__isnull=True)


class MoveQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Moves are append-only; they are never updated.")

    def delete(self):
        raise TypeError("Moves are append-only; they are never deleted.")


class Move(models.Model):
    """One change of a ticket's board, column or tier. Append-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="moves")
    from_board = models.ForeignKey(Board, null=True, on_delete=models.PROTECT, related_name="+")
    to_board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="+")
    from_column = models.ForeignKey(Column, null=True, on_delete=models.PROTECT, related_name="+")
    to_column = models.ForeignKey(Column, on_delete=models.PROTECT, related_name="+")
    from_tier = models.PositiveSmallIntegerField(null=True)
    to_tier = models.PositiveSmallIntegerField()
    direction = models.CharField(max_length=12, choices=Direction.choices, blank=True)
    criterion = models.ForeignKey(Criterion, null=True, blank=True, on_delete=models.PROTECT, related_name="moves")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: the scheduler.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MoveQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        # Partial indexes for the Flow page keep only *routing* moves (board or
        # tier changed, ROUTING_MOVE) or openings (OPENING_MOVE): a fraction of
        # the log, which is mostly column moves. flow.gauges' raw SQL spells the
        # same condition; INCLUDE lets PostgreSQL answer from the index alone
        # (SQLite ignores INCLUDE).
        indexes = [
            # A ticket's history in order (the drawer's timeline, check_version's
            # last move). Covering, for flow.gauges' time on each board and
            # flow.whatif's replay, which read every move of many tickets: the
            # INCLUDE columns let PostgreSQL answer from the index alone.
            models.Index(
                fields=["ticket", "created_at"],
                name="move_ticket_timeline_idx",
                include=["id", "from_board", "to_board", "from_column", "to_column", "to_tier", "criterion", "actor"],
            ),
            # flow.gauges: the period's routing moves grouped by board, tier,
            # direction, criterion, who and day (matrix, criteria, breaches,
            # daily chart, headline): created_at in [start, end).
            models.Index(
                fields=["created_at"],
                name="move_routing_time_idx",
                condition=ROUTING_MOVE,
                include=["from_board", "to_board", "from_tier", "to_tier", "direction", "criterion", "actor", "ticket"],
            ),
            # flow.gauges: each ticket's path between boards and tiers in order
            # (bounces, wasted escalations, came back within 24 h, first board,
            # "did this ticket ever change board").
            models.Index(
                fields=["ticket", "created_at"],
                name="move_routing_ticket_idx",
                condition=ROUTING_MOVE,
                include=["from_board", "to_board", "from_tier", "to_tier", "direction", "criterion"],
            ),
            # flow.graph: tickets opened per board in the period (the map's intake stubs).
            models.Index(
                fields=["created_at"], name="move_opening_time_idx", condition=OPENING_MOVE, include=["to_board"]
            ),
        ]

    def __str__(self) -> str:
        if self.from_board_id is None:
            return f"{self.ticket.number}: opened on {self.to_board}"
        return f"{self.ticket.number}: {self.from_board} → {self.to_board}"

    @property
    def actor_name(self) -> str:
        if self.actor is None:
            # Only the sweep moves with a criterion and no person; a ticket
            # opened with no person came from an integration (monitoring, mail).
            return "the scheduler" if self.criterion_id else "the system"
        return self.actor.get_full_name() or self.actor.username

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise TypeError("Moves are append-only; they are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Moves are append-only; they are never deleted.")
