"""Facts the Flow page reads instead of replaying the whole Move log on every request.

Each table holds what ``flow.facts`` derives from one ticket's moves (and its
notes' positions), exactly as the gauges define it. They are a cache: the
Move log stays the truth, ``flow.facts.build`` keeps these tables up to date
from it (a beat task, ``manage.py flow_facts``), and the gauges read them only
for tickets with no move after ``FactsState.moves_through`` — everything newer
is computed live from the raw moves, so a lagging build makes the page slower,
never wrong. See ``flow.facts`` for how the watermark is made safe.

Plain integer columns for boards, criteria and notes: these rows are rebuilt,
never edited by hand, and must not hold up deleting a criterion or a note.
"""

from __future__ import annotations

from django.db import models

from boards.models import Note, Ticket


class FactsState(models.Model):
    """One row: how far the facts go. Locked by the builder, so two builds never run at once."""

    # Every move with id <= moves_through, and every note with id <= notes_through,
    # is reflected in the facts (flow.facts waits for in-flight writers before it
    # advances these, so no smaller id can still commit later).
    moves_through = models.BigIntegerField(default=0)
    notes_through = models.BigIntegerField(default=0)
    built_at = models.DateTimeField(null=True)
    # The time zone DailyCount's days were cut in: another one (settings changed) means rebuild them.
    time_zone = models.CharField(max_length=64, blank=True)
    # When a build last checked the facts against the log as a whole (flow.facts.CHECK_EVERY).
    checked_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "flow facts state"

    def __str__(self) -> str:
        return f"moves through {self.moves_through}, notes through {self.notes_through}"


class TicketFact(models.Model):
    """One per ticket the builder has seen: the ticket as of ``version``; for a resolved
    ticket, where it was resolved and where its first board move left from."""

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    resolved_at = models.DateTimeField(null=True)
    board_id = models.IntegerField()  # where the ticket is (was resolved)
    tier = models.PositiveSmallIntegerField()
    first_from = models.IntegerField(null=True)  # the board its first board move left; None: never left

    class Meta:
        indexes = [
            # flow.gauges first-board resolution: resolved_at in [start, end).
            models.Index(fields=["resolved_at"], name="flow_ticketfact_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} v{self.version}"


class BoardTime(models.Model):
    """A resolved ticket's time on one board over its whole life (all its visits added up)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    board_id = models.IntegerField()
    resolved_at = models.DateTimeField()
    active_seconds = models.FloatField()
    wall_seconds = models.FloatField()

    class Meta:
        indexes = [
            # flow.gauges time on each board: resolved_at in [start, end), grouped by board for
            # the percentiles. In board order, so no sort before grouping; covering (PostgreSQL).
            models.Index(
                fields=["board_id", "resolved_at"],
                name="flow_boardtime_board_idx",
                include=["active_seconds", "wall_seconds", "ticket"],
            ),
            # flow.facts.board_time_percentiles: the values of one board in one value bucket.
            models.Index(
                fields=["board_id", "active_seconds"],
                name="flow_boardtime_active_idx",
                include=["resolved_at", "ticket"],
            ),
            models.Index(
                fields=["board_id", "wall_seconds"],
                name="flow_boardtime_wall_idx",
                include=["resolved_at", "ticket"],
            ),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} on board {self.board_id}"


class RoutingStep(models.Model):
    """One routing move (board or tier changed) with its neighbours on the ticket's path:
    the windows ``flow.facts.path_ctes`` computes (bounces, wasted escalations, came back)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    from_board_id = models.IntegerField(null=True)
    to_board_id = models.IntegerField()
    from_tier = models.PositiveSmallIntegerField(null=True)
    to_tier = models.PositiveSmallIntegerField()
    direction = models.CharField(max_length=12, blank=True)
    criterion_id = models.IntegerField(null=True)
    bc = models.SmallIntegerField()  # 1: the board changed
    n = models.IntegerField()  # its rank among the ticket's moves of the same kind (bc)
    prev_from = models.IntegerField(null=True)
    prev_dir = models.CharField(max_length=12, null=True)
    prev_crit = models.IntegerField(null=True)
    prev_at = models.DateTimeField(null=True)
    next_board = models.IntegerField(null=True)
    next_tier = models.PositiveSmallIntegerField(null=True)
    next_at = models.DateTimeField(null=True)
    # What the gauges ask of it (flow.facts.path_ctes): 1 or 0.
    round_trip = models.SmallIntegerField(default=0)
    bounce = models.SmallIntegerField(default=0)
    returned = models.SmallIntegerField(default=0)
    came_back = models.SmallIntegerField(default=0)
    # A returned step: minutes of its ticket's notes written between the escalation and the
    # return, counting notes up to FactsState.notes_through (newer ones are added when read).
    minutes = models.IntegerField(default=0)

    class Meta:
        indexes = [
            # flow.gauges bounces, wasted escalations, came back: created_at in [start, end),
            # each over the few steps that carry its flag.
            models.Index(
                fields=["created_at"],
                name="flow_step_bounce_cover_idx",
                condition=models.Q(bounce=1),
                include=["ticket", "n", "round_trip", "from_board_id", "to_board_id"],
            ),
            models.Index(
                fields=["created_at"],
                name="flow_step_return_cover_idx",
                condition=models.Q(returned=1),
                include=["ticket", "from_board_id", "to_board_id", "prev_crit", "criterion_id", "prev_at", "minutes"],
            ),
            models.Index(
                fields=["created_at"],
                name="flow_step_back_cover_idx",
                condition=models.Q(came_back=1),
                include=["ticket", "criterion_id", "from_board_id", "to_board_id"],
            ),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} at {self.created_at}"


class NotePosition(models.Model):
    """Where a note's ticket stood (board, tier) when the note was written. The minutes are
    read from the note itself, which an admin may edit."""

    note = models.OneToOneField(Note, primary_key=True, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    board_id = models.IntegerField()
    tier = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [
            # flow.gauges minutes per board and tier: created_at in [start, end).
            models.Index(fields=["created_at"], name="flow_noteposition_time_idx"),
        ]

    def __str__(self) -> str:
        return f"note {self.note_id}"


class DailyCount(models.Model):
    """How many of one kind of thing happened on one local day, per key (flow.facts.COUNTS):

    - ``route``: routing moves (move ids <= moves_through), per from/to board, from/to tier,
      direction, criterion and whether the scheduler moved (no actor);
    - ``open``: tickets opened (opening moves, ids <= moves_through), per board;
    - ``resolved``: resolved tickets as their TicketFact says, per board and tier resolved at,
      first board and whether they never left it (``other_tier`` 1);
    - ``minutes``: minutes logged in notes (every NotePosition), per board and tier the note
      was written at (``n`` holds the minutes);
    - ``active``, ``wall``: resolved tickets' time on a board (every BoardTime), per board and
      value bucket (``tier`` holds the bucket: flow.facts.BOUNDS), by the day they were resolved.

    Whole days of a period are summed from here; its ragged ends, and anything newer
    than the watermark, are counted from the raw rows (flow.facts.whole_days).
    """

    kind = models.CharField(max_length=8)
    day = models.DateField()
    board = models.IntegerField()
    other_board = models.IntegerField(default=0)
    tier = models.SmallIntegerField(default=0)
    other_tier = models.SmallIntegerField(default=0)
    direction = models.CharField(max_length=12, blank=True)
    criterion = models.IntegerField(default=0)  # 0: none
    by_scheduler = models.BooleanField(default=False)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "day",
                    "board",
                    "other_board",
                    "tier",
                    "other_tier",
                    "direction",
                    "criterion",
                    "by_scheduler",
                ],
                name="flow_dailycount_key",
            )
        ]
        # (The unique constraint's index, led by kind and day, serves the reads: kind = k AND day in [a, b).)

    def __str__(self) -> str:
        return f"{self.kind} {self.day}: {self.n}"
