"""Boards, their columns, the tickets on them and the people who work them.

A ticket's board, column and tier are changed only by ``routing.services``;
these models hold fields, constraints and small derived properties.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

MANAGERS_GROUP = "Managers"
TECHNICIANS_GROUP = "Technicians"


def person_name(first_name: str, last_name: str, username: str) -> str:
    """How Switchback names a person: "First Last", else the username (as Django's get_full_name).

    The one home of the rule: templates use the ``person`` filter, the card
    builder passes plain row values, the API and the timeline call
    ``display_name``.
    """
    return f"{first_name} {last_name}".strip() or username


def display_name(user) -> str:
    return person_name(user.first_name, user.last_name, user.username)


def is_manager(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: templates and permission checks ask often.
    if not hasattr(user, "_switchback_is_manager"):
        user._switchback_is_manager = user.groups.filter(name=MANAGERS_GROUP).exists()
    return user._switchback_is_manager


class BoardQuerySet(models.QuerySet):
    def for_user(self, user) -> BoardQuerySet:
        """The boards a user works: every board for a manager."""
        if is_manager(user):
            return self
        return self.filter(technicians__user=user)


class Board(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    purpose = models.TextField(blank=True, help_text="What kind of work belongs here.")
    position = models.PositiveSmallIntegerField(default=0)
    colour = models.CharField(max_length=7, default="#4f6bed", help_text="A CSS colour, e.g. #4f6bed.")
    # Bumped by routing.services whenever a ticket on this board changes, so an
    # open board can ask "anything new?" with one indexed read.
    revision = models.PositiveBigIntegerField(default=0, editable=False)

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("board", args=[self.slug])

    def first_column(self, category: str | None = None) -> Column | None:
        columns = self.columns.all()
        if category:
            columns = columns.filter(category=category)
        return columns.order_by("position", "pk").first()

    def entry_column(self) -> Column | None:
        """Where a ticket lands on arrival: the first `new` column, else the first."""
        return self.first_column(Column.Category.NEW) or self.first_column()


class Column(models.Model):
    class Category(models.TextChoices):
        NEW = "new", "New"
        ACTIVE = "active", "Active"
        WAITING = "waiting", "Waiting (clock paused)"
        DONE = "done", "Done (closes the ticket)"

    CLOCK_RUNS = (Category.NEW, Category.ACTIVE)

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.ACTIVE)
    wip_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most open tickets this column should hold."
    )
    resumes_on_reply = models.BooleanField(
        "back to work on the requester's reply",
        default=False,
        help_text="For a waiting column that waits on the requester (“Waiting on customer”, not “Waiting on "
        "vendor”): their reply moves the ticket to the board's first active column.",
    )

    class Meta:
        ordering = ["board__position", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="column_name_unique_per_board"),
            # Lets boards_ticket reference (column, board) together on
            # PostgreSQL; see the 0002 migration.
            models.UniqueConstraint(fields=["id", "board"], name="column_id_board_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.board.name} · {self.name}"

    @property
    def clock_runs(self) -> bool:
        return self.category in self.CLOCK_RUNS

    @property
    def is_done(self) -> bool:
        return self.category == self.Category.DONE


class Skill(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    name = models.CharField(max_length=120, unique=True)
    contact_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Technician(models.Model):
    """A user's working profile: their tier, the boards they work, their skills."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="technician")
    tier = models.PositiveSmallIntegerField(default=1)
    boards = models.ManyToManyField(Board, blank=True, related_name="technicians")
    skills = models.ManyToManyField(Skill, blank=True, related_name="technicians")

    class Meta:
        ordering = ["user__username"]
        constraints = [models.CheckConstraint(condition=Q(tier__gte=1), name="technician_tier_at_least_1")]

    def __str__(self) -> str:
        return display_name(self.user)


# Card order, the one home of the rule: priority, then the nearest deadline
# (none last, on every engine), then number. Ticket.Meta.ordering and
# by_urgency() use it; app.js's sortKey places a moved card by the same three
# keys, read from the card (class p1..p4, data-deadline, data-ticket-id).
URGENCY = ("priority", F("deadline_at").asc(nulls_last=True), "pk")


class TicketQuerySet(models.QuerySet):
    def open(self) -> TicketQuerySet:
        return self.filter(resolved_at__isnull=True)

    def due(self, now: datetime) -> TicketQuerySet:
        """Open tickets whose time criterion has fired (served by ticket_deadline_idx)."""
        return self.filter(deadline_at__lte=now)

    def visible_to(self, user) -> TicketQuerySet:
        """Tickets the user may open: on a board they work, or assigned to them (boards.permissions)."""
        from .permissions import visible_q

        return self.filter(visible_q(user))

    def workable_by(self, user) -> TicketQuerySet:
        """Tickets the user may move, edit and note: on a board they work (boards.permissions)."""
        from .permissions import workable_q

        return self.filter(workable_q(user))

    def overdue(self, now: datetime) -> TicketQuerySet:
        return self.open().filter(deadline_at__lte=now)

    def by_urgency(self) -> TicketQuerySet:
        """A board's card order: priority, then the nearest deadline (none last); see URGENCY."""
        return self.order_by(*URGENCY)

    def recently_resolved(self, since: datetime) -> TicketQuerySet:
        """Closed since ``since``, newest first (served by ticket_column_resolved_idx)."""
        return self.filter(resolved_at__gte=since).order_by("-resolved_at", "-pk")


class Ticket(models.Model):
    class Priority(models.IntegerChoices):
        P1 = 1, "P1 · Critical"
        P2 = 2, "P2 · High"
        P3 = 3, "P3 · Normal"
        P4 = 4, "P4 · Low"

    class Source(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        PORTAL = "portal", "Portal"
        MONITORING = "monitoring", "Monitoring alert"
        WALK_IN = "walk_in", "Walk-in"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    requester_name = models.CharField(max_length=120, blank=True)
    requester_email = models.EmailField(blank=True)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PORTAL)

    # Where the ticket is. Changed only through routing.services.
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="tickets")
    column = models.ForeignKey(Column, on_delete=models.PROTECT, related_name="tickets")
    tier = models.PositiveSmallIntegerField(default=1, help_text="The tier this ticket needs now.")
    version = models.PositiveIntegerField(default=1, editable=False)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="tickets")
    needs_onsite = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    entered_board_at = models.DateTimeField(default=timezone.now, editable=False)

    # The clock for time criteria: active time banked on this board, and when
    # the current running stretch began (empty while paused or done).
    active_time = models.DurationField(default=timedelta, editable=False)
    clock_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The earliest moment a time criterion fires, and which one.
    deadline_at = models.DateTimeField(null=True, blank=True, editable=False)
    deadline_criterion = models.ForeignKey(
        "routing.Criterion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = URGENCY
        indexes = [
            # The sweep's query: Ticket.objects.due(now), i.e. deadline_at <= now.
            # Partial, so it holds only tickets whose clock is running.
            models.Index(
                fields=["deadline_at"],
                name="ticket_deadline_idx",
                condition=Q(deadline_at__isnull=False),
            ),
            # The board page: open tickets of one board by column.
            models.Index(fields=["board", "column", "priority"], name="ticket_board_column_idx"),
            # The board page's open cards, in card order (board_columns: board = …
            # AND resolved_at IS NULL ORDER BY priority, deadline_at, id): only the
            # open rows, so a board with years of closed tickets reads its few hundred.
            models.Index(
                fields=["board", "priority", "deadline_at", "id"],
                name="ticket_board_open_cards_idx",
                condition=Q(resolved_at__isnull=True),
            ),
            # What changed since a page was drawn (boards.cards.changed_cards):
            # updated_at >= …, on one board or leaving it. The recent rows are few.
            models.Index(fields=["updated_at"], name="ticket_updated_idx", include=["board"]),
            # The board page's done column: recently resolved tickets.
            models.Index(fields=["column", "resolved_at"], name="ticket_column_resolved_idx"),
            # flow.gauges: tickets resolved in a period (first-board resolution,
            # time on each board, resolutions per board and tier): resolved_at in [start, end).
            models.Index(
                fields=["resolved_at"],
                name="ticket_resolved_idx",
                condition=Q(resolved_at__isnull=False),
                include=["id", "board", "tier", "created_at", "entered_board_at", "active_time"],
            ),
            # flow.gauges: open tickets per board (load per board and tier, the
            # oldest open per board, idle tickets): resolved_at IS NULL.
            models.Index(
                fields=["board", "created_at"],
                name="ticket_open_board_idx",
                condition=Q(resolved_at__isnull=True),
                include=["tier", "deadline_at"],
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(tier__gte=1), name="ticket_tier_at_least_1"),
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=4), name="ticket_priority_1_to_4"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"#{self.pk}" if self.pk else "#new"

    def get_absolute_url(self) -> str:
        return reverse("ticket", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def clean(self) -> None:
        if self.column_id and self.board_id and self.column.board_id != self.board_id:
            raise ValidationError({"column": f"{self.column} is not a column of the {self.board} board."})

    def save(self, *args, **kwargs) -> None:
        # The database enforces this too (see migration 0002); failing here
        # first gives a readable message instead of an integrity error.
        if self.column_id and self.board_id and self.column.board_id != self.board_id:
            raise ValidationError(f"{self.column} is not a column of the {self.board} board.")
        super().save(*args, **kwargs)


class Watch(models.Model):
    """A technician following a ticket: it stays on their home, and they may open it, until it is resolved.

    Made by the Follow button, and for whoever escalates, de-escalates or
    transfers a ticket by hand, so the ticket they handed on stays in reach.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            # Also the index of the home page's "Followed" list and of the view rule: user = …
            models.UniqueConstraint(fields=["user", "ticket"], name="watch_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.ticket.number}"


class Note(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    internal = models.BooleanField(default=True, help_text="Internal notes are never shown to the customer.")
    minutes_worked = models.PositiveIntegerField(default=0)
    # Written with the resolve: what fixed it (customer-visible or internal, as any note).
    resolution = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note on {self.ticket.number} by {self.author}"

    @property
    def requester(self):
        """The mark of a note a requester wrote (requesters.RequesterNote: who, and how), else None."""
        return getattr(self, "requester_mark", None)

    @property
    def author_name(self) -> str:
        """Who wrote it, as the timeline names them: the technician, else the requester, else "someone"."""
        if self.author is not None:
            return display_name(self.author)
        return self.requester.display_name if self.requester else "someone"
