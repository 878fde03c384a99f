"""Criteria that move tickets between boards and tiers, and the record of every move."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, IntegerField, Q, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from boards.models import Board, Column, Ticket


class Direction(models.TextChoices):
    ESCALATE = "escalate", "Escalate"
    DE_ESCALATE = "de-escalate", "De-escalate"
    TRANSFER = "transfer", "Transfer"


# ``Criterion.applies_to``'s "no particular ticket": a return-to-sender criterion may apply.
ANY_SENDER = object()

# Ticket priority → the Criterion field holding that priority's own limit.
PRIORITY_LIMIT_FIELDS = {1: "p1_limit_minutes", 2: "p2_limit_minutes", 3: "p3_limit_minutes", 4: "p4_limit_minutes"}


def limit_minutes_sql(prefix: str = "", priority_field: str | None = None):
    """``Criterion.limit_for`` in SQL, for queries that compute with the limit (the warning sweep).

    With ``priority_field`` (the ticket's priority column, e.g. "priority"),
    that priority's own limit, else the general one; without, the longest
    limit of any priority (what bounds a scan). ``prefix`` leads from the
    queried model to the criterion, e.g. "deadline_criterion__".
    """
    general = F(f"{prefix}time_limit_minutes")
    if priority_field is None:
        return Greatest(
            *(Coalesce(F(f"{prefix}{name}"), 0) for name in PRIORITY_LIMIT_FIELDS.values()),
            Coalesce(general, 0),
            output_field=IntegerField(),
        )
    return Case(
        *(
            When(**{priority_field: p}, then=Coalesce(F(f"{prefix}{name}"), general))
            for p, name in PRIORITY_LIMIT_FIELDS.items()
        ),
        default=general,
        output_field=IntegerField(),
    )


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
        INACTIVITY = "inactivity", "Inactivity — no note, move or update for some working hours (new/active)"

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
    to_sender = models.BooleanField(
        "return to sender",
        default=False,
        help_text="De-escalation: back to the board and tier the ticket was last escalated from onto its "
        "board (NOC or Triage, whichever sent it), instead of a fixed board and tier.",
    )
    to_column = models.ForeignKey(
        Column,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the target board's first 'new' column.",
    )
    time_limit_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Time trigger: active minutes on the board before it fires (for priorities without a limit "
        "of their own below). Empty with some priority limits set: it applies to those priorities only.",
    )
    # Per-priority limits (item 2 of issue 10): a P1 may get 10 minutes where a
    # P3 gets the default 30. ``limit_for(priority)`` is the one reading of them.
    p1_limit_minutes = models.PositiveIntegerField("P1 limit", null=True, blank=True)
    p2_limit_minutes = models.PositiveIntegerField("P2 limit", null=True, blank=True)
    p3_limit_minutes = models.PositiveIntegerField("P3 limit", null=True, blank=True)
    p4_limit_minutes = models.PositiveIntegerField("P4 limit", null=True, blank=True)
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
    idle_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Inactivity trigger: working hours (the board's calendar) without a note, move or update "
        "while the ticket sits in a new or active column.",
    )
    notify_only = models.BooleanField(
        default=False,
        help_text="Inactivity trigger: tell the assignee (else the board's technicians) instead of moving the ticket.",
    )
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = CriterionQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "criteria"
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="time")
                | Q(time_limit_minutes__gt=0)
                | Q(p1_limit_minutes__gt=0)
                | Q(p2_limit_minutes__gt=0)
                | Q(p3_limit_minutes__gt=0)
                | Q(p4_limit_minutes__gt=0),
                name="criterion_time_needs_limit",
                violation_error_message="A time criterion needs a time limit of at least one minute "
                "(for every priority, or for some).",
            ),
            models.CheckConstraint(
                condition=(~Q(trigger="inactivity") | Q(idle_hours__gt=0))
                & (Q(trigger="inactivity") | Q(idle_hours=None, notify_only=False)),
                name="criterion_inactivity_needs_hours",
                violation_error_message="An inactivity criterion needs its working hours; only it has them "
                "or merely notifies.",
            ),
            models.CheckConstraint(
                condition=Q(trigger="time")
                | Q(p1_limit_minutes=None, p2_limit_minutes=None, p3_limit_minutes=None, p4_limit_minutes=None),
                name="criterion_priority_limits_need_time",
                violation_error_message="Only a time criterion has limits per priority.",
            ),
            models.CheckConstraint(
                condition=(Q(p1_limit_minutes=None) | Q(p1_limit_minutes__gt=0))
                & (Q(p2_limit_minutes=None) | Q(p2_limit_minutes__gt=0))
                & (Q(p3_limit_minutes=None) | Q(p3_limit_minutes__gt=0))
                & (Q(p4_limit_minutes=None) | Q(p4_limit_minutes__gt=0)),
                name="criterion_priority_limits_positive",
                violation_error_message="A priority's limit is at least one minute.",
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
                condition=Q(to_board__isnull=False)
                | Q(to_tier__isnull=False)
                | Q(to_sender=True)
                | Q(notify_only=True),
                name="criterion_changes_something",
                violation_error_message="A criterion must change the board, the tier, or both.",
            ),
            models.CheckConstraint(
                condition=Q(to_sender=False)
                | Q(direction="de-escalate", to_board__isnull=True, to_tier__isnull=True, to_column__isnull=True),
                name="criterion_sender_is_a_de_escalation",
                violation_error_message="Return to sender is a de-escalation with no fixed target board, tier "
                "or column.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        own = {p: getattr(self, name) for p, name in PRIORITY_LIMIT_FIELDS.items()}
        if self.trigger == self.Trigger.TIME and not self.time_limit_minutes and not any(own.values()):
            # For every priority, or for some (the help text says how).
            errors["time_limit_minutes"] = "A time criterion needs a time limit of at least one minute."
        if self.trigger != self.Trigger.TIME and self.time_limit_minutes:
            errors["time_limit_minutes"] = "Only a time criterion has a time limit."
        for priority, minutes in own.items():
            if minutes is None:
                continue
            if self.trigger != self.Trigger.TIME:
                errors[PRIORITY_LIMIT_FIELDS[priority]] = "Only a time criterion has limits per priority."
            elif minutes < 1:
                errors[PRIORITY_LIMIT_FIELDS[priority]] = "A priority's limit is at least one minute."
            elif self.warn_before_minutes is not None and self.warn_before_minutes >= minutes:
                errors[PRIORITY_LIMIT_FIELDS[priority]] = (
                    f"The warning comes {self.warn_before_minutes} minutes before the deadline: "
                    f"P{priority}'s limit must be longer, or warn at a share of the limit instead."
                )
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
            0 < self.warn_before_minutes < (self.time_limit_minutes or min(filter(None, own.values()), default=0))
        ):
            errors["warn_before_minutes"] = "A warning's minutes must be at least 1 and fewer than the time limit's."
        elif self.warn_at_percent is not None and not 1 <= self.warn_at_percent <= 99:
            errors["warn_at_percent"] = "A warning's share of the limit is a percentage from 1 to 99."
        if self.trigger == self.Trigger.INACTIVITY and not self.idle_hours:
            errors["idle_hours"] = "An inactivity criterion needs its working hours without activity (at least 1)."
        if self.trigger != self.Trigger.INACTIVITY and (self.idle_hours or self.notify_only):
            errors["idle_hours"] = "Only an inactivity criterion has working hours without activity or merely notifies."
        if self.to_sender:
            if self.direction != Direction.DE_ESCALATE:
                errors["to_sender"] = "Return to sender is a de-escalation."
            elif self.trigger == self.Trigger.TIME:
                errors["to_sender"] = "Return to sender is picked by a technician or fired by a condition, not a clock."
            elif self.to_board_id or self.to_tier is not None or self.to_column_id:
                errors["to_sender"] = (
                    "Return to sender finds its target; leave the target board, tier and column empty."
                )
        elif not self.to_board_id and self.to_tier is None and not self.notify_only:
            errors["to_board"] = "A criterion must change the board, the tier, or both."
        if self.from_board_id and self.to_board_id == self.from_board_id and self.to_tier is None:
            errors["to_board"] = "Moving to the same board without a tier change changes nothing."
        if self.to_column_id:
            target = self.to_board_id or self.from_board_id
            if not target or self.to_column.board_id != target:
                errors["to_column"] = "The target column must belong to the target board."
        if errors:
            raise ValidationError(errors)

    def limit_for(self, priority: int | None) -> int | None:
        """The limit in active minutes for a ticket of this priority, None if it does not apply to it.

        The priority's own limit if set, else the criterion's general one
        (None when only some priorities have limits). ``priority=None`` asks
        for the general limit (the Flow page's per-position views).
        """
        if self.trigger != self.Trigger.TIME:
            return None
        own = getattr(self, PRIORITY_LIMIT_FIELDS[priority]) if priority in PRIORITY_LIMIT_FIELDS else None
        return own or self.time_limit_minutes

    @property
    def priority_limits(self) -> dict[int, int]:
        """Priority → limit, for the priorities with a limit of their own."""
        return {p: m for p, name in PRIORITY_LIMIT_FIELDS.items() if (m := getattr(self, name))}

    def describe_limit(self) -> str:
        """The limits in words: "30 min; P1 10 min, P2 20 min" or "P1 10 min, P2 20 min only"."""
        own = ", ".join(f"P{p} {m} min" for p, m in self.priority_limits.items())
        if not self.time_limit_minutes:
            return f"{own} only" if own else ""
        return f"{self.time_limit_minutes} min; {own}" if own else f"{self.time_limit_minutes} min"

    def warning_lead_for(self, priority: int | None) -> timedelta | None:
        """How long before its deadline a ticket of this priority is warned: the minutes set, or the rest of
        the share of that priority's limit.

        Wall time before the deadline (the deadline itself is already in the
        board's working time): "10 minutes before" means ten minutes on the
        clock the technician reads. ``notifications.warnings`` spells the
        same rule in SQL for its sweep (``limit_minutes_sql``); a test holds
        the two together.
        """
        limit = self.limit_for(priority)
        if not limit:
            return None
        if self.warn_before_minutes is not None:
            return timedelta(minutes=self.warn_before_minutes)
        if self.warn_at_percent is not None:
            return timedelta(seconds=limit * 60 * (100 - self.warn_at_percent) // 100)
        return None

    @property
    def warning_lead(self) -> timedelta | None:
        """``warning_lead_for`` the general limit."""
        return self.warning_lead_for(None)

    @property
    def offered_by_hand(self) -> bool:
        return self.trigger in self.BY_HAND

    def destination(self, board: Board, tier: int, sender: tuple[Board, int] | None = None) -> tuple[Board, int]:
        """Where a ticket at (board, tier) goes. A return-to-sender criterion goes to ``sender``
        (``routing.services.sender_of``), and with none known stays put (so it does not apply)."""
        if self.to_sender:
            return sender or (board, tier)
        return (self.to_board if self.to_board_id else board, self.to_tier if self.to_tier is not None else tier)

    def applies_to(self, board: Board, tier: int, sender=ANY_SENDER) -> bool:
        """Whether this criterion may fire for a ticket on ``board`` at ``tier``.

        A return-to-sender criterion depends on the ticket's history: the
        services pass its ``sender`` (``routing.services.sender_of``; None when
        nothing escalated it), and it applies when the sender is elsewhere.
        Asked about a position alone (the Flow page's lint), it may apply.
        """
        if not self.active:
            return False
        if self.from_board_id is not None and self.from_board_id != board.pk:
            return False
        if self.from_tier is not None and self.from_tier != tier:
            return False
        if self.notify_only or (self.to_sender and sender is ANY_SENDER):
            return True  # it tells someone without moving; or it depends on the ticket's history
        to_board, to_tier = self.destination(board, tier, None if sender is ANY_SENDER else sender)
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
    # "Why did this move": the criterion as it was when it fired and what it
    # saw on the ticket, written with the move (``routing.services``) and never
    # changed, so a later edit of the criterion does not rewrite history. Keys:
    # "criterion" (name, direction, trigger, limit, limit_minutes, condition,
    # last_edited_by, last_edited_at) and "saw" (active_minutes, priority,
    # needs_onsite, missing_skills). Empty for a move without a criterion.
    snapshot = models.JSONField(default=dict, blank=True, editable=False)

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
    def why(self) -> str:
        """The move's reason in one line, for the drawer's timeline, from the snapshot taken when it fired.

        "Tier 1 time limit (time, 30 min; last edited by manager on 02 Mar 2026 09:00) saw 30 active
        minutes, P3" — empty for a move without a criterion.
        """
        criterion, saw = self.snapshot.get("criterion"), self.snapshot.get("saw", {})
        if not criterion:
            return ""
        rule = [criterion["trigger"]]
        if criterion.get("limit"):
            rule.append(criterion["limit"])
        if criterion.get("condition"):
            rule.append(criterion["condition"])
        text = f"{criterion['name']} ({', '.join(rule)}"
        if criterion.get("last_edited_at"):
            edited = datetime.fromisoformat(criterion["last_edited_at"])
            text += f"; last edited by {criterion.get('last_edited_by') or 'someone'} on {edited:%d %b %Y %H:%M} UTC"
        text += ")"
        facts = []
        if saw.get("active_minutes") is not None:
            facts.append(f"{saw['active_minutes']:g} active minutes")
        if saw.get("priority"):
            facts.append(f"P{saw['priority']}")
        if saw.get("needs_onsite"):
            facts.append("needs onsite")
        if saw.get("missing_skills"):
            facts.append("nobody on the board has " + ", ".join(saw["missing_skills"]))
        return f"{text} saw {', '.join(facts)}" if facts else text

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


class CriterionChange(models.Model):
    """One edit of a criterion: who changed which fields from what to what, and when. Append-only.

    Written by ``routing.services.save_criterion`` (admin, the shell, any
    API), so the drawer can say who last edited the rule behind a move.
    Kept when the criterion is deleted (the name is copied).
    """

    criterion = models.ForeignKey(Criterion, null=True, on_delete=models.SET_NULL, related_name="changes")
    criterion_name = models.CharField(max_length=80)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    # Field name → [before, after]; {"created": true} for a new criterion, {"deleted": true} for a deletion.
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [
            # save_criterion's "last edit of this criterion" and the admin's history list.
            models.Index(fields=["criterion", "changed_at"], name="criterion_change_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_name}: {', '.join(self.changes)} by {self.changed_by or 'the system'}"

    @property
    def who(self) -> str:
        if self.changed_by is None:
            return "the system"
        return self.changed_by.get_full_name() or self.changed_by.username


class InactivityNotice(models.Model):
    """An inactivity criterion fired for a ticket's idle stretch (a move or a notice): once per stretch.

    The stretch is named by its last activity, so a note or a move starts a
    new one; the unique constraint makes two sweeps at once fire it once.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="+")
    last_activity_at = models.DateTimeField()
    created_at = models.DateTimeField()
    moved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "criterion", "last_activity_at"], name="inactivity_once_per_stretch"
            )
        ]

    def __str__(self) -> str:
        return f"{self.criterion} for ticket {self.ticket_id}, idle since {self.last_activity_at:%Y-%m-%d %H:%M}"


class BounceFlag(models.Model):
    """A ticket passed back and forth between boards (``routing.services`` sets and clears it).

    Set when a move makes the ticket's board changes reach ``BOUNCE_MOVES``
    within ``BOUNCE_WINDOW_HOURS``, or send it back A → B → A within
    ``BOUNCE_RETURN_HOURS`` (settings, from the environment). While
    ``BOUNCE_HOLDS_AUTOMATIC`` is on, the scheduler's criteria (time,
    inactivity) leave a flagged ticket alone until a person moves it, which
    clears the flag. One row per flagged ticket: managers list them in admin.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="bounce_flag")
    flagged_at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["-flagged_at"]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}: {self.reason}"
