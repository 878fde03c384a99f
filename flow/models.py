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

from boards.models import Ticket


class FactsState(models.Model):
    """One row: how far the facts go. Locked by the builder, so two builds never run at once."""

    # Every move with id <= moves_through, and every note with id <= notes_through,
    # is reflected in the facts (flow.facts waits for in-flight writers before it
    # advances these, so no smaller id can still commit later).
    moves_through = models.BigIntegerField(default=0)
    notes_through = models.BigIntegerField(default=0)
    built_at = models.DateTimeField(null=True)

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
            # flow.gauges time on each board: resolved_at in [start, end).
            models.Index(fields=["resolved_at"], name="flow_boardtime_resolved_idx"),
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

    class Meta:
        indexes = [
            # flow.gauges bounces, wasted escalations, came back: created_at in [start, end).
            models.Index(fields=["created_at"], name="flow_routingstep_time_idx"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} at {self.created_at}"


class NotePosition(models.Model):
    """Where a note's ticket stood (board, tier) when the note was written. The minutes are
    read from the note itself, which an admin may edit."""

    note_id = models.BigIntegerField(primary_key=True)
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
