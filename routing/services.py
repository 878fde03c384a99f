"""The one door: every change of a ticket's board, column or tier goes through here.

Views, the scheduler's sweep, admin actions and the demo loader all call these
functions; nothing else writes ``Ticket.board``, ``.column`` or ``.tier``.

Clocks: a time criterion counts *active* time on the ticket's current board:
time in ``new``/``active`` columns inside the board's working hours.
``Ticket.active_time`` banks the working time already spent and
``clock_started_at`` marks the running stretch (empty while the ticket waits
or is done); the clock starts and stops at the real moments, only the
counting is in working time. ``deadline_at`` = the clock start plus (limit −
banked time) of working time. All of that arithmetic is
``calendars.working``'s: this module only says which board's calendar counts
(``_stop_clock`` the board the stretch was spent on, ``_set_deadline`` the
board the ticket is on now).

Many at once: the sweep decides each move with the same ``_apply`` as a
person's move, into a ``MoveBatch`` written set-based (``routing.batch``), and
intake opens a delivery's new tickets with ``open_tickets``, which shares
``open_ticket``'s rules. Same rules, a handful of statements per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from boards.models import Board, Column, Skill, Technician, Ticket
from calendars.models import Calendar
from calendars.working import NoWorkingTime, add_working_time, calendars_of, load_calendars, working_time_between

from .batch import update_rows
from .models import BounceFlag, Criterion, CriterionChange, Direction, InactivityNotice, Move

log = logging.getLogger(__name__)


class MoveError(Exception):
    """A move that cannot be made; the message is for the technician."""


class NotAllowed(MoveError):
    pass


class Conflict(MoveError):
    """The ticket changed since the caller saw it."""

    def __init__(self, ticket: Ticket, last_move: Move | None):
        self.ticket = ticket
        self.last_move = last_move
        if last_move is not None:
            where = f"{last_move.to_board.name} · {last_move.to_column.name}"
            message = f"{ticket.number} was just moved by {last_move.actor_name} to {where}."
        else:
            message = f"{ticket.number} was changed by someone else; it is in {ticket.column}."
        super().__init__(message)


@dataclass(frozen=True)
class Position:
    board: Board
    column: Column
    tier: int


# --- Clocks and deadlines ----------------------------------------------------


# Board id → its calendar (None: no calendar, wall time), as calendars.working.load_calendars gives.
Calendars = dict[int, Calendar | None]


def _stop_clock(ticket: Ticket, now: datetime, calendar: Calendar | None) -> None:
    """Bank the running stretch, counted on ``calendar`` (the board it was spent on)."""
    if ticket.clock_started_at is not None:
        ticket.active_time += working_time_between(calendar, ticket.clock_started_at, now)
        ticket.clock_started_at = None


def _start_clock(ticket: Ticket, now: datetime) -> None:
    if ticket.clock_started_at is None:
        ticket.clock_started_at = now


# A request reads the active criteria once (``criteria_read_once``, opened
# around every view by helpdesk.middleware): a move reads them for the
# deadline and the cards drawn after it for their buttons, milliseconds apart.
# Saving or deleting a criterion forgets the request's copy (routing.apps).
_criteria_memo: ContextVar[dict[str, list[Criterion]] | None] = ContextVar("criteria_memo", default=None)


@contextmanager
def criteria_read_once() -> Iterator[None]:
    """Within this block (one request), ``active_criteria`` reads the table once."""
    token = _criteria_memo.set({})
    try:
        yield
    finally:
        _criteria_memo.reset(token)


def forget_criteria(**kwargs) -> None:
    """A criterion was saved or deleted: the next ``active_criteria`` in this block reads afresh."""
    memo = _criteria_memo.get()
    if memo is not None:
        memo.clear()


def active_criteria() -> list[Criterion]:
    """Every active criterion with its destination, in the managers' order (position, then pk). Do not mutate."""
    memo = _criteria_memo.get()
    if memo is not None and "active" in memo:
        return memo["active"]
    criteria = list(Criterion.objects.active().select_related("to_board", "to_column").order_by("position", "pk"))
    if memo is not None:
        memo["active"] = criteria
    return criteria


def active_time_criteria() -> list[Criterion]:
    return [c for c in active_criteria() if c.trigger == Criterion.Trigger.TIME]


def time_criterion_for(
    board: Board, tier: int, criteria: Iterable[Criterion], priority: int | None = None
) -> Criterion | None:
    """The time criterion that fires first for a ticket at this position (and of this priority).

    All time criteria count the same clock, so the shortest limit for the
    ticket's priority wins; on a tie, the one listed first. A criterion with
    limits for some priorities only does not apply to the others. Without a
    priority (the Flow page's per-position views), the general limits.
    """
    candidates = [c for c in criteria if c.applies_to(board, tier) and c.limit_for(priority)]
    return min(candidates, key=lambda c: (c.limit_for(priority), c.position, c.pk), default=None)


def deadline_for(ticket: Ticket, criterion: Criterion, calendar: Calendar | None) -> datetime | None:
    """When ``criterion`` fires for this running clock: the rest of its limit, in the board's working time.

    None when the calendar has no working time ahead at all (admin refuses
    such a calendar unless it is 24/7; rows written by other means are told
    apart here rather than crashing a sweep).
    """
    left = timedelta(minutes=criterion.limit_for(ticket.priority)) - ticket.active_time
    try:
        return add_working_time(calendar, ticket.clock_started_at, left)
    except NoWorkingTime:
        log.warning("%s: board %s's calendar has no working time ahead; no deadline", ticket.number, ticket.board_id)
        return None


def _set_deadline(
    ticket: Ticket, criteria: Iterable[Criterion], calendar: Calendar | None, *, held: bool = False
) -> None:
    """The ticket's next deadline on its current board, counted on ``calendar`` (that board's).

    ``held``: a bounce-flagged ticket the scheduler leaves to a person (no deadline).
    """
    criterion = None
    if _clock_runs(ticket, held):
        criterion = time_criterion_for(ticket.board, ticket.tier, criteria, ticket.priority)
    ticket.deadline_at, ticket.deadline_criterion = _deadline(ticket, criterion, calendar)


def _clock_runs(ticket: Ticket, held: bool) -> bool:
    return ticket.clock_started_at is not None and ticket.resolved_at is None and not held


def _deadline(
    ticket: Ticket, criterion: Criterion | None, calendar: Calendar | None
) -> tuple[datetime | None, Criterion | None]:
    """The deadline and the criterion that sets it, or (None, None): no criterion, or no working time ahead."""
    deadline = None if criterion is None else deadline_for(ticket, criterion, calendar)
    return (None, None) if deadline is None else (deadline, criterion)


def recompute_deadlines(chunk: int = 2000) -> int:
    """Recompute every open ticket's deadline after criteria or calendars changed.

    The same rule as a move's, not a copy of it: each ticket's criterion is
    ``time_criterion_for`` its position (looked up once per board, tier and
    priority) and its deadline ``deadline_for`` — wall time or the board's
    working time, both ``calendars.working``'s arithmetic, none of it in SQL.
    Open tickets are read a few thousand at a time, and only those whose
    deadline or criterion changes are written, one UPDATE per chunk: an edit
    that moves no deadline (a renamed criterion, a new description) writes
    none. Returns the number of tickets written.
    """
    criteria = active_time_criteria()
    boards = {b.pk: b for b in Board.objects.all()}
    calendars = load_calendars(boards)
    holds = bounce_holds()
    criterion_at: dict[tuple[int, int, int], Criterion | None] = {}
    fields = ["deadline_at", "deadline_criterion"]
    written = 0
    with transaction.atomic():
        rows = Ticket.objects.open().only(
            "pk",
            "board_id",
            "tier",
            "priority",
            "clock_started_at",
            "active_time",
            "resolved_at",
            "deadline_at",
            "deadline_criterion_id",
        )
        if holds:
            rows = rows.annotate(flagged=Exists(BounceFlag.objects.filter(ticket=OuterRef("pk"))))
        pending: list[Ticket] = []
        for ticket in rows.order_by("pk").iterator(chunk_size=chunk):
            criterion = None
            if _clock_runs(ticket, holds and ticket.flagged):
                position = (ticket.board_id, ticket.tier, ticket.priority)
                if position not in criterion_at:
                    criterion_at[position] = time_criterion_for(
                        boards[ticket.board_id], ticket.tier, criteria, ticket.priority
                    )
                criterion = criterion_at[position]
            deadline, criterion = _deadline(ticket, criterion, calendars[ticket.board_id])
            if deadline == ticket.deadline_at and getattr(criterion, "pk", None) == ticket.deadline_criterion_id:
                continue
            ticket.deadline_at, ticket.deadline_criterion = deadline, criterion
            pending.append(ticket)
            if len(pending) >= chunk:
                written += update_rows(pending, fields)
                pending = []
        written += update_rows(pending, fields)
        touch_boards(boards.keys())
    return written


def refresh_deadline(ticket: Ticket | int, *, now: datetime | None = None) -> Ticket:
    """Recompute one ticket's deadline after a write that changes its clock's inputs but is not a move.

    Its priority, above all: a P1 may have a limit of its own. Under the
    ticket's row lock, with the same ``_set_deadline`` as a move; the board
    is bumped so open copies redraw the card. Returns the locked ticket.
    """
    with transaction.atomic():
        locked = _lock(getattr(ticket, "pk", ticket))
        held = bounce_holds() and BounceFlag.objects.filter(ticket=locked).exists()
        _set_deadline(locked, active_time_criteria(), load_calendars([locked.board_id])[locked.board_id], held=held)
        locked.save(update_fields=["deadline_at", "deadline_criterion"])
        touch_boards([locked.board_id])
    return locked


def touch_boards(board_ids: Iterable[int]) -> None:
    """Tell open copies of these boards that something on them changed: one statement."""
    ids = sorted(set(board_ids))
    if not ids:
        return
    if connection.vendor != "postgresql":
        # SQLite locks the whole database for a write; there is no row order to mind.
        Board.objects.filter(pk__in=ids).update(revision=F("revision") + 1)
        return
    # The row locks are taken in pk order (the subquery's ORDER BY … FOR
    # UPDATE), so two transactions bumping overlapping sets of boards cannot
    # deadlock; a plain UPDATE … WHERE id IN (…) locks in whatever order its
    # plan meets the rows.
    table = connection.ops.quote_name(Board._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET revision = revision + 1 "
            f"WHERE id IN (SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE)",
            [ids],
        )


# --- Criteria ----------------------------------------------------------------


def sender_of(ticket: Ticket) -> tuple[Board, int] | None:
    """The board and tier that last escalated this ticket onto its current board, None if none did.

    Return to sender's target: the last escalation that brought the ticket to
    the board it is on from another board (a tier step within the board,
    Support tier 2 → 3, does not make Support the sender).
    """
    move = (
        Move.objects.filter(ticket=ticket, direction=Direction.ESCALATE, to_board=ticket.board_id)
        .exclude(from_board=ticket.board_id)
        .exclude(from_board=None)
        .select_related("from_board")
        .order_by("-pk")
        .first()
    )
    return None if move is None else (move.from_board, move.from_tier)


def _sender_if_needed(ticket: Ticket, criteria: Iterable[Criterion]) -> tuple[Board, int] | None:
    return sender_of(ticket) if any(c.to_sender for c in criteria) else None


def manual_criteria(ticket: Ticket, direction: str, to_board: Board | None = None) -> list[Criterion]:
    """The criteria a technician may pick for this ticket in this direction.

    With ``to_board``, only those that lead there (a card dropped on a tab).
    """
    candidates = list(
        Criterion.objects.manual()
        .from_position(ticket.board, ticket.tier)
        .filter(direction=direction)
        .select_related("to_board")
    )
    sender = _sender_if_needed(ticket, candidates)
    found = [c for c in candidates if c.applies_to(ticket.board, ticket.tier, sender)]
    if to_board is not None:
        found = [c for c in found if c.destination(ticket.board, ticket.tier, sender)[0].pk == to_board.pk]
    return found


def missing_skills(ticket: Ticket) -> list[str]:
    """The ticket's required skills that no active technician of its board has, by name."""
    staffed = Technician.objects.filter(boards=ticket.board, user__is_active=True, skills=OuterRef("pk"))
    return list(
        Skill.objects.filter(tickets=ticket).exclude(Exists(staffed)).order_by("name").values_list("name", flat=True)
    )


def condition_holds(criterion: Criterion, ticket: Ticket) -> bool:
    if criterion.condition == Criterion.Condition.NEEDS_ONSITE:
        return ticket.needs_onsite
    if criterion.condition == Criterion.Condition.MISSING_SKILL:
        staffed = Technician.objects.filter(boards=ticket.board, user__is_active=True, skills=OuterRef("pk"))
        return Skill.objects.filter(tickets=ticket).exclude(Exists(staffed)).exists()
    return False


# --- Why a move happened, and who edits the rules ---------------------------------

# Criterion fields an edit is recorded for (everything a manager can change).
_TRACKED = [f.name for f in Criterion._meta.concrete_fields if f.name != "id"]


def _last_change(criterion: Criterion) -> CriterionChange | None:
    """The criterion's latest recorded edit; read once per criterion object (a sweep batch shares its criteria)."""
    if not hasattr(criterion, "_last_change"):
        criterion._last_change = (
            CriterionChange.objects.filter(criterion=criterion)
            .select_related("changed_by")
            .order_by("-changed_at", "-pk")
            .first()
        )
    return criterion._last_change


def snapshot(ticket: Ticket, criterion: Criterion, *, active: timedelta, missing: list[str] | None = None) -> dict:
    """What ``Move.snapshot`` keeps: the criterion as it is now and what it saw on the ticket."""
    last = _last_change(criterion)
    return {
        "criterion": {
            "id": criterion.pk,
            "name": criterion.name,
            "direction": criterion.direction,
            "trigger": criterion.trigger,
            "limit": criterion.describe_limit(),
            "limit_minutes": criterion.limit_for(ticket.priority),
            "condition": criterion.get_condition_display() if criterion.condition else "",
            "last_edited_by": last.who if last else None,
            "last_edited_at": last.changed_at.isoformat() if last else None,
        },
        "saw": {
            "active_minutes": round(active.total_seconds() / 60, 1),
            "priority": ticket.priority,
            "needs_onsite": ticket.needs_onsite,
            "missing_skills": missing,
        },
    }


def save_criterion(
    criterion: Criterion, *, actor, now: datetime | None = None, recompute: bool = True
) -> CriterionChange | None:
    """Validate and save a criterion, record who changed what, and recompute every deadline.

    The one way to change a criterion: admin, the shell and any API call it,
    so each edit lands in the history (``CriterionChange``) and deadlines
    follow at once, through the same arithmetic as a move
    (``recompute_deadlines``). Admin passes ``recompute=False`` and
    recomputes once per request instead. Returns the change recorded, None if
    nothing changed.
    """
    now = now or timezone.now()
    criterion.full_clean()
    with transaction.atomic():
        before = None
        if criterion.pk is not None:
            before = (
                Criterion.objects.select_for_update()
                .filter(pk=criterion.pk)
                .values(*[Criterion._meta.get_field(n).attname for n in _TRACKED])
                .first()
            )
        criterion.save()
        if before is None:
            changes = {"created": True}
        else:
            changes = {}
            for name in _TRACKED:
                attname = Criterion._meta.get_field(name).attname
                old, new = before[attname], getattr(criterion, attname)
                if old != new:
                    changes[name] = [old, new]
        change = None
        if changes:
            change = CriterionChange.objects.create(
                criterion=criterion, criterion_name=criterion.name, changed_by=actor, changed_at=now, changes=changes
            )
            criterion.__dict__.pop("_last_change", None)
        if recompute:
            recompute_deadlines()
    return change


def delete_criterion(criterion: Criterion, *, actor, now: datetime | None = None, recompute: bool = True) -> None:
    """Delete a criterion (refused by the database if moves name it), record it, recompute deadlines."""
    now = now or timezone.now()
    with transaction.atomic():
        CriterionChange.objects.create(
            criterion=criterion,
            criterion_name=criterion.name,
            changed_by=actor,
            changed_at=now,
            changes={"deleted": True},
        )
        criterion.delete()
        if recompute:
            recompute_deadlines()


# --- The door ----------------------------------------------------------------


def _destination(ticket: Ticket, criterion: Criterion, entry_column: Column | None = None) -> Position:
    sender = None
    if criterion.to_sender:
        sender = sender_of(ticket)
        if sender is None:
            raise NotAllowed(f"{ticket.number} was never escalated to {ticket.board.name}; there is no sender.")
        entry_column = None  # the caller's is for a fixed target board
    board, tier = criterion.destination(ticket.board, ticket.tier, sender)
    if criterion.to_column_id and criterion.to_column.board_id == board.pk:
        column = criterion.to_column
    elif board.pk == ticket.board_id:
        column = ticket.column
    else:
        column = entry_column or board.entry_column()
        if column is None:
            raise NotAllowed(f"The {board.name} board has no columns to receive tickets.")
    return Position(board, column, tier)


# What a move writes on the ticket row: the single door saves these fields, a
# batch writes the same ones for all its tickets in one statement.
MOVED_FIELDS = [
    "board",
    "column",
    "tier",
    "version",
    "active_time",
    "clock_started_at",
    "entered_board_at",
    "resolved_at",
    "deadline_at",
    "deadline_criterion",
    "updated_at",
]


class MoveBatch:
    """Moves decided ticket by ticket under their row locks, written together.

    ``_apply`` with a batch changes the ticket in memory and hands it here
    instead of saving it. ``write`` then sends the whole batch: one UPDATE of
    the tickets (``routing.batch.update_rows``), one INSERT of their Moves,
    one bump of every board touched, and, after the commit, one notification
    per target board rather than one per move. Whatever the batch decided,
    the single-ticket door would have decided too: both run ``_apply``.
    """

    def __init__(self) -> None:
        self.tickets: list[Ticket] = []
        self.moves: list[Move] = []
        self.boards: set[int] = set()
        self.moved_from: dict[int, int] = {}  # ticket id → the board it left (or stays on)
        self._criteria: list[Criterion] | None = None
        self._calendars: Calendars | None = None

    @property
    def criteria(self) -> list[Criterion]:
        """The active time criteria, read once for the batch."""
        if self._criteria is None:
            self._criteria = active_time_criteria()
        return self._criteria

    @property
    def calendars(self) -> Calendars:
        """Every board's calendar, read once for the batch (three queries, however many boards)."""
        if self._calendars is None:
            self._calendars = load_calendars(Board.objects.values_list("pk", flat=True))
        return self._calendars

    def use_calendars(self, calendars: Calendars) -> None:
        """Calendars the caller already read (the sweep reads them with the batch's boards)."""
        self._calendars = calendars

    def add(self, ticket: Ticket, move: Move, from_board_id: int) -> None:
        self.tickets.append(ticket)
        self.moves.append(move)
        self.boards.update((from_board_id, move.to_board_id))
        self.moved_from[ticket.pk] = from_board_id

    def _guard_bounces(self) -> None:
        """The bounce guard for the whole batch: a person's move clears a flag, a bouncing move sets one
        (and, while flags hold, leaves the ticket without a deadline). A few queries per batch."""
        people = [m.ticket_id for m in self.moves if m.actor_id is not None]
        if people:
            BounceFlag.objects.filter(ticket__in=people).delete()
        crossing = [m for m in self.moves if m.to_board_id != self.moved_from[m.ticket_id]]
        if not crossing:
            return
        now = max(m.created_at for m in crossing)
        earlier = _recent_board_changes((m.ticket_id for m in crossing), now)
        flags = {}
        for move in crossing:
            reason = _bounce_reason(earlier.get(move.ticket_id, []), move, self.moved_from[move.ticket_id], now)
            if reason:
                flags[move.ticket_id] = BounceFlag(ticket_id=move.ticket_id, flagged_at=move.created_at, reason=reason)
        if not flags:
            return
        BounceFlag.objects.filter(ticket__in=list(flags)).delete()
        BounceFlag.objects.bulk_create(flags.values())
        if bounce_holds():
            for ticket in self.tickets:
                if ticket.pk in flags:
                    ticket.deadline_at, ticket.deadline_criterion = None, None

    def rewrite(self, ticket: Ticket) -> None:
        """Write this ticket's row too, without a move (the sweep's re-check found a new deadline)."""
        self.tickets.append(ticket)

    def write(self, *, notify: bool = True) -> list[Move]:
        """Write the batch inside the caller's transaction; return the Moves with their pks."""
        self._guard_bounces()
        update_rows(self.tickets, MOVED_FIELDS)
        Move.objects.bulk_create(self.moves)
        touch_boards(self.boards)
        if notify:
            self._notify_after_commit()
        return self.moves

    def _notify_after_commit(self) -> None:
        from .tasks import notify_moves

        by_board: dict[int, list[int]] = {}
        for move in self.moves:
            if move.criterion_id is not None:
                by_board.setdefault(move.to_board_id, []).append(move.pk)
        for move_ids in by_board.values():
            # As in _apply: after the commit, robust (a broker that is down is
            # logged and stops no other board's notification), and a lambda so
            # that Django can name it when it logs a failure. The default
            # argument binds this board's list, not the loop's last one.
            transaction.on_commit(lambda move_ids=move_ids: notify_moves.delay(move_ids), robust=True)


def _apply(
    ticket: Ticket,
    to: Position,
    *,
    actor,
    criterion: Criterion | None,
    direction: str,
    note: str,
    now: datetime,
    criteria: list[Criterion] | None = None,
    batch: MoveBatch | None = None,
    notify: bool = True,
    missing: list[str] | None = None,
) -> Move:
    """Move one ticket whose row the caller has locked.

    Decides everything a move changes (the Move, clocks, resolution, version,
    deadline) on the ticket object. Alone, it then writes: the ticket, the
    Move, one board revision bump, and a notification after the commit. With
    a ``batch`` (the sweep), it hands the ticket and its unsaved Move to the
    batch, which writes them with the rest.
    """
    move = Move(
        ticket=ticket,
        from_board=ticket.board,
        from_column=ticket.column,
        from_tier=ticket.tier,
        to_board=to.board,
        to_column=to.column,
        to_tier=to.tier,
        direction=direction,
        criterion=criterion,
        actor=actor,
        note=note,
        created_at=now,
    )
    old_board_id = ticket.board_id
    # The stretch just ended counts on the board it was spent on; the new
    # deadline on the board the ticket goes to.
    calendars = batch.calendars if batch is not None else calendars_of([ticket.board, to.board])

    _stop_clock(ticket, now, calendars[old_board_id])
    if criterion is not None:
        move.snapshot = snapshot(ticket, criterion, active=ticket.active_time, missing=missing)
    if to.board.pk != old_board_id:
        ticket.active_time = timedelta(0)
        ticket.entered_board_at = now
    if to.column.clock_runs:
        _start_clock(ticket, now)
    if to.column.is_done:
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None

    ticket.board, ticket.column, ticket.tier = to.board, to.column, to.tier
    ticket.version += 1
    # A batch guards its moves together when it writes them (MoveBatch.write).
    held = False if batch is not None else _bounce_guard(ticket, move, old_board_id, actor=actor, now=now)
    _set_deadline(ticket, active_time_criteria() if criteria is None else criteria, calendars[to.board.pk], held=held)
    if batch is not None:
        # What save() would stamp (auto_now), since update_rows does not call it.
        Ticket._meta.get_field("updated_at").pre_save(ticket, add=False)
        batch.add(ticket, move, old_board_id)
        return move

    ticket.save(update_fields=MOVED_FIELDS)
    move.save()
    touch_boards({old_board_id, to.board.pk})
    if criterion is not None and notify:
        from .tasks import notify_move

        # After the commit, and robust: a broker that is down is logged and
        # never undoes the move. A person's move is told at once, on its own.
        # A lambda, not functools.partial: Django logs a robust callback's
        # failure with func.__qualname__, which a partial lacks, so the logging
        # itself would raise and skip every callback after it.
        move_id = move.pk
        transaction.on_commit(lambda: notify_move.delay(move_id), robust=True)
    return move


def _lock(ticket_id: int) -> Ticket:
    """Lock the ticket's row, then read it with its board and column.

    Two statements on purpose. Were the joins in the locking statement, a
    session that had to wait for the lock would see PostgreSQL re-check the
    now-updated ticket against the board and column rows it read *before*
    waiting (READ COMMITTED's EvalPlanQual): if the holder moved the ticket to
    another column or board, the join no longer matches and the ticket seems
    not to exist — a 500 where the technician should get a Conflict. Once the
    lock is ours, the second statement reads the latest committed row.
    """
    Ticket.objects.select_for_update().filter(pk=ticket_id).values_list("pk", flat=True).get()
    # With what the move reads next: the board's calendar (load_calendars) and the bounce flag (_bounce_guard).
    return Ticket.objects.select_related("board__calendar", "column", "bounce_flag").get(pk=ticket_id)


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    """Raise Conflict, naming who moved the ticket last, if its version is not the one the caller saw."""
    if expected_version is not None and ticket.version != expected_version:
        # By pk, not created_at: moves of one ticket are written under its row
        # lock, so pk order is commit order, while created_at is the caller's
        # ``now`` (a backdated import, the sweep's batch start).
        last = ticket.moves.select_related("actor", "to_board", "to_column").order_by("-pk").first()
        raise Conflict(ticket, last)


def move_ticket(
    ticket: Ticket | int,
    *,
    actor,
    expected_version: int | None,
    criterion: Criterion | None = None,
    direction: str | None = None,
    to_column: Column | None = None,
    to_tier: int | None = None,
    note: str = "",
    now: datetime | None = None,
    notify: bool = True,
    check: Callable[[Ticket], None] | None = None,
) -> Move | None:
    """Move a ticket, the one way anything does.

    1. Lock the ticket row, hand it to ``check`` (the caller's own refusal,
       e.g. a view's permission check, made on the row the move reads anyway:
       it raises to refuse, and nothing is written), and compare its version
       with the one the caller saw (``None`` skips the check: the caller holds
       fresh state).
    2. With a criterion: check it is active, applies from this board and tier,
       and goes in the asked ``direction``; its destination decides board, tier
       and column. Without one: only a column on the same board and/or a tier.
    3. Write the Move, update the ticket, recompute its deadline, bump its
       version, and queue notifications for after the commit (unless
       ``notify`` is off: replaying history, as the demo loader does).

    Returns the Move, or None when the ticket is already where it was asked to go.
    """
    now = now or timezone.now()
    ticket_id = ticket if isinstance(ticket, int) else ticket.pk
    with transaction.atomic():
        locked = _lock(ticket_id)
        if check is not None:
            check(locked)
        check_version(locked, expected_version)
        if criterion is not None:
            # The caller's copy may be stale: a manager may have switched the
            # criterion off or retargeted it since the dialog was drawn.
            try:
                criterion = Criterion.objects.select_related("to_board", "to_column").get(pk=criterion.pk)
            except Criterion.DoesNotExist:
                raise NotAllowed("That criterion no longer exists.") from None
            if not criterion.active:
                raise NotAllowed(f"“{criterion.name}” is switched off.")
            if direction is not None and criterion.direction != direction:
                raise NotAllowed(
                    f"“{criterion.name}” is a {criterion.get_direction_display().lower()} criterion, "
                    f"not {Direction(direction).label.lower()}."
                )
            sender = sender_of(locked) if criterion.to_sender else None
            if criterion.to_sender and sender is None:
                raise NotAllowed(
                    f"“{criterion.name}” returns a ticket to the board that escalated it, "
                    f"and nothing escalated {locked.number} to {locked.board.name}."
                )
            if not criterion.applies_to(locked.board, locked.tier, sender):
                raise NotAllowed(
                    f"“{criterion.name}” does not apply to a tier {locked.tier} ticket on {locked.board.name}."
                )
            if not criterion.offered_by_hand and actor is not None:
                raise NotAllowed(f"“{criterion.name}” is fired by the scheduler, not by hand.")
            to = _destination(locked, criterion)
            return _apply(
                locked,
                to,
                actor=actor,
                criterion=criterion,
                direction=criterion.direction,
                note=note,
                now=now,
                notify=notify,
            )

        plain = _plain_move(locked, to_column, to_tier)
        if plain is None:
            return None
        to, direction = plain
        return _apply(locked, to, actor=actor, criterion=None, direction=direction, note=note, now=now, notify=notify)


def _plain_move(ticket: Ticket, to_column: Column | None, to_tier: int | None) -> tuple[Position, str] | None:
    """A move without a criterion: a column on the ticket's own board and/or a tier; None if it is there already."""
    column = to_column or ticket.column
    tier = ticket.tier if to_tier is None else to_tier
    if column.board_id != ticket.board_id:
        raise NotAllowed(
            f"{column.name} is on the {column.board.name} board; moving there needs a criterion "
            "(escalate, de-escalate or transfer)."
        )
    if tier < 1:
        raise NotAllowed("A tier is a whole number from 1 up.")
    if column.pk == ticket.column_id and tier == ticket.tier:
        return None
    direction = Direction.ESCALATE if tier > ticket.tier else Direction.DE_ESCALATE if tier < ticket.tier else ""
    return Position(ticket.board, column, tier), direction


def move_locked(
    ticket: Ticket, *, to_column: Column, actor, note: str = "", now: datetime, batch: MoveBatch
) -> Move | None:
    """``move_ticket``'s move to a column, for a ticket whose row the caller locked and read after locking.

    The move is decided now and written with the rest of ``batch``
    (``batch.write()``, inside the caller's transaction): for a caller that
    locks many tickets in one query and moves them together, as intake does
    with a delivery's resolutions. Returns the unsaved Move, or None when the
    ticket is in that column already.
    """
    plain = _plain_move(ticket, to_column, None)
    if plain is None:
        return None
    to, direction = plain
    return _apply(
        ticket,
        to,
        actor=actor,
        criterion=None,
        direction=direction,
        note=note,
        now=now,
        criteria=batch.criteria,
        batch=batch,
    )


def _place_new(ticket: Ticket, now: datetime, criteria: list[Criterion], calendars: Calendars) -> None:
    """A new ticket's clock and deadline: it enters its board and column now."""
    ticket.created_at = ticket.entered_board_at = now
    ticket.active_time = timedelta(0)
    ticket.clock_started_at = now if ticket.column.clock_runs else None
    ticket.resolved_at = now if ticket.column.is_done else None
    _set_deadline(ticket, criteria, calendars[ticket.board_id])


def _opening(ticket: Ticket, actor, now: datetime) -> Move:
    return Move(
        ticket=ticket,
        to_board=ticket.board,
        to_column=ticket.column,
        to_tier=ticket.tier,
        actor=actor,
        note="Opened",
        created_at=now,
    )


def open_ticket(ticket: Ticket, *, actor, now: datetime | None = None, notify: bool = True) -> Ticket:
    """Put a new (unsaved) ticket on its board: entry column, clock, deadline.

    Records the arrival as the ticket's first Move, then fires any condition
    criterion the new ticket already meets (e.g. it needs onsite from the start).
    Required skills, being many-to-many, are added by the caller before it
    calls ``facts_changed``.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if ticket.column_id is None:
            column = ticket.board.entry_column()
            if column is None:
                raise NotAllowed(f"The {ticket.board.name} board has no columns yet.")
            ticket.column = column
        _place_new(ticket, now, active_time_criteria(), load_calendars([ticket.board_id]))
        ticket.save()
        _opening(ticket, actor, now).save()
        touch_boards([ticket.board_id])
        fire_conditions(ticket, actor=actor, now=now, notify=notify)
    return ticket


# Conditions a ticket's own row can make true. A ticket's required skills are
# many-to-many, added after the ticket exists, so a missing skill can only
# come true later (``facts_changed``), never at opening.
ROW_CONDITIONS = (Criterion.Condition.NEEDS_ONSITE,)


def open_tickets(tickets: Iterable[Ticket], *, actor, now: datetime | None = None, notify: bool = True) -> list[Ticket]:
    """``open_ticket`` for many new (unsaved) tickets at once, set-based.

    1. Each ticket gets its board's entry column (one read per board) unless
       it has a column, then the same clock and deadline as ``open_ticket``.
    2. One INSERT writes the tickets, one their opening Moves, one statement
       bumps the boards.
    3. The condition criteria are read once. The rare ticket that already
       meets one goes through ``fire_conditions``, which moves it through the
       door, as ``open_ticket`` would.

    All in one transaction: every ticket is opened, or (on any error) none.
    """
    now = now or timezone.now()
    tickets = list(tickets)
    if not tickets:
        return tickets
    with transaction.atomic():
        entry: dict[int, Column | None] = {}
        for ticket in tickets:
            if ticket.column_id is None:
                if ticket.board_id not in entry:
                    entry[ticket.board_id] = ticket.board.entry_column()
                if entry[ticket.board_id] is None:
                    raise NotAllowed(f"The {ticket.board.name} board has no columns yet.")
                ticket.column = entry[ticket.board_id]
            elif ticket.column.board_id != ticket.board_id:
                # What Ticket.save says, which bulk_create does not call.
                raise ValidationError(f"{ticket.column} is not a column of the {ticket.board} board.")
        criteria = active_time_criteria()
        calendars = load_calendars({ticket.board_id for ticket in tickets})
        for ticket in tickets:
            _place_new(ticket, now, criteria, calendars)
        Ticket.objects.bulk_create(tickets)
        Move.objects.bulk_create([_opening(ticket, actor, now) for ticket in tickets])
        touch_boards(ticket.board_id for ticket in tickets)
        conditions = list(
            Criterion.objects.active()
            .filter(trigger=Criterion.Trigger.CONDITION, condition__in=ROW_CONDITIONS)
            .select_related("to_board")
        )
        for ticket in tickets:
            if any(c.applies_to(ticket.board, ticket.tier) and condition_holds(c, ticket) for c in conditions):
                fire_conditions(ticket, actor=actor, now=now, notify=notify)
    return tickets


def fire_conditions(ticket: Ticket, *, actor, now: datetime | None = None, notify: bool = True) -> Move | None:
    """Fire the first condition criterion this ticket now meets, if any.

    Called on the write that may make a condition true: a ticket opened, its
    needs-onsite flag or required skills changed. The move is recorded under
    the actor whose write made it true, naming the criterion.

    The conditions are read under the ticket's row lock, so two saves racing
    on one ticket give one move (the second finds it already on Support), not
    a NotAllowed for a criterion that no longer applies. After a move the
    caller's ``ticket`` is refreshed, so it shows where the ticket is now.
    """
    now = now or timezone.now()
    move = None
    with transaction.atomic():
        locked = _lock(ticket.pk)
        for criterion in (
            Criterion.objects.active()
            .filter(trigger=Criterion.Trigger.CONDITION)
            .from_position(locked.board, locked.tier)
            .select_related("to_board", "to_column")
            .order_by("position", "pk")
        ):
            sender = sender_of(locked) if criterion.to_sender else None
            if criterion.applies_to(locked.board, locked.tier, sender) and condition_holds(criterion, locked):
                to = _destination(locked, criterion)
                missing = None
                if criterion.condition == Criterion.Condition.MISSING_SKILL:
                    missing = missing_skills(locked)
                move = _apply(
                    locked,
                    to,
                    actor=actor,
                    criterion=criterion,
                    direction=criterion.direction,
                    note="",
                    now=now,
                    notify=notify,
                    missing=missing,
                )
                break
    if move is not None:
        ticket.refresh_from_db()
    return move


def facts_changed(ticket: Ticket, *, actor, now: datetime | None = None, notify: bool = True) -> Move | None:
    """A ticket's facts (needs onsite, required skills) were edited."""
    touch_boards([ticket.board_id])
    return fire_conditions(ticket, actor=actor, now=now, notify=notify)


# --- The scheduler's sweep -----------------------------------------------------


def sweep_once(now: datetime | None = None, *, batch_size: int = 200) -> int:
    """Escalate one batch of due tickets; return how many were moved.

    1. In one transaction, take up to ``batch_size`` due tickets with
       ``SELECT … FOR UPDATE SKIP LOCKED``: a row held by a concurrent sweep
       (or a technician's move) is skipped, never waited on or moved twice.
       With nothing due, that one indexed query is all a sweep costs.
    2. Re-check each under the lock against the criteria as they are now: a
       manager may have raised a limit or switched a criterion off without
       recomputing deadlines. A ticket no longer due gets its new deadline.
    3. Decide each move with the door's own ``_apply`` into a ``MoveBatch``,
       then write the batch set-based: one UPDATE of its tickets, one INSERT
       of their Moves, one bump of the boards, and after the commit one
       notification per target board.

    Everything commits together, so a sweep killed midway leaves no half-moves
    and the next sweep finds the same tickets due.
    """
    return _sweep_batch(now or timezone.now(), batch_size, stuck=set())[1]


def _sweep_batch(now: datetime, batch_size: int, stuck: set[int]) -> tuple[int, int]:
    """One batch of the sweep: returns (tickets taken, tickets moved).

    ``stuck`` collects tickets whose move cannot be made (the target board has
    no column to receive them); later batches of the same sweep leave them
    out, so one misconfigured criterion cannot stop every other escalation.
    They stay due, and every sweep logs them until a manager fixes the board.
    """
    entry_columns: dict[int, Column | None] = {}
    batch = MoveBatch()
    with transaction.atomic():
        # Ticket rows only, no joins: a row that another session changed
        # between our snapshot and our lock is re-read by PostgreSQL after the
        # lock (and dropped if no longer due), so what we read is what we
        # lock. SQLite has no row locks (Django leaves FOR UPDATE out there):
        # its writes are serialised by the database lock instead.
        due = Ticket.objects.due(now).select_for_update(skip_locked=True).order_by("deadline_at", "pk")
        if stuck:
            due = due.exclude(pk__in=stuck)
        due = list(due[:batch_size])
        if not due:
            return 0, 0
        # Boards and columns are a few dozen rows: two reads per batch, rather
        # than two more model objects built for every ticket by a join.
        boards, columns = Board.objects.in_bulk(), Column.objects.in_bulk()
        for ticket in due:
            ticket.board, ticket.column = boards[ticket.board_id], columns[ticket.column_id]
        # Read after the lock: the re-check uses the criteria and calendars as
        # they are now. Every board's calendar, in three queries for the batch.
        criteria = active_time_criteria()
        batch.use_calendars(load_calendars(boards))
        held = set()
        if bounce_holds():
            held = set(BounceFlag.objects.filter(ticket__in=due).values_list("ticket_id", flat=True))
        for ticket in due:
            stored = (ticket.deadline_at, ticket.deadline_criterion_id)
            _set_deadline(ticket, criteria, batch.calendars[ticket.board_id], held=ticket.pk in held)
            criterion = ticket.deadline_criterion
            if criterion is None or ticket.deadline_at > now:
                if (ticket.deadline_at, ticket.deadline_criterion_id) != stored:
                    batch.rewrite(ticket)
                continue
            target = criterion.to_board_id or ticket.board_id
            if target not in entry_columns:
                entry_columns[target] = (criterion.to_board or ticket.board).entry_column()
            try:
                to = _destination(ticket, criterion, entry_column=entry_columns[target])
            except NotAllowed as exc:
                log.error("sweep cannot move %s with “%s”: %s", ticket.number, criterion.name, exc)
                stuck.add(ticket.pk)
                continue
            _apply(
                ticket,
                to,
                actor=None,
                criterion=criterion,
                direction=criterion.direction,
                note=f"Time limit of {criterion.limit_for(ticket.priority)} active minutes reached.",
                now=now,
                criteria=criteria,
                batch=batch,
            )
        batch.write()
    return len(due), len(batch.moves)


def sweep(now: datetime | None = None, *, batch_size: int = 200, max_batches: int = 1000) -> int:
    """Sweep until nothing is due. Returns the number of tickets moved.

    Beat runs this every few seconds, and almost always nothing is due, so it
    starts with a probe: one indexed read (``ticket_deadline_idx``, LIMIT 1)
    outside any transaction, so that a quiet tick costs one round trip, no
    BEGIN, no lock.
    """
    now = now or timezone.now()
    if not Ticket.objects.due(now).exists():
        return 0
    total = 0
    stuck: set[int] = set()
    for _ in range(max_batches):
        taken, moved = _sweep_batch(now, batch_size, stuck)
        total += moved
        if taken == 0:
            break
    return total


# --- Bounce guard --------------------------------------------------------------------


def bounce_holds() -> bool:
    """Whether the scheduler's criteria leave a bounce-flagged ticket alone (BOUNCE_HOLDS_AUTOMATIC)."""
    return getattr(settings, "BOUNCE_HOLDS_AUTOMATIC", False)


def _bounce_limits() -> tuple[int, timedelta, timedelta]:
    return (
        getattr(settings, "BOUNCE_MOVES", 3),
        timedelta(hours=getattr(settings, "BOUNCE_WINDOW_HOURS", 24)),
        timedelta(hours=getattr(settings, "BOUNCE_RETURN_HOURS", 2)),
    )


def _recent_board_changes(ticket_ids: Iterable[int], now: datetime) -> dict[int, list[Move]]:
    """Each ticket's board changes inside the longer bounce window, latest first: one query for any number."""
    _, window, back = _bounce_limits()
    found: dict[int, list[Move]] = {}
    for move in (
        Move.objects.filter(ticket__in=list(ticket_ids), created_at__gte=now - max(window, back))
        .filter(from_board__isnull=False)
        .exclude(from_board=F("to_board"))
        .select_related("to_board")
        .order_by("-created_at", "-pk")
    ):
        found.setdefault(move.ticket_id, []).append(move)
    return found


def _bounce_reason(earlier: list[Move], move: Move, old_board_id: int, now: datetime) -> str:
    """Why this move makes the ticket a bounce ("" if it does not), given its earlier board changes."""
    count, window, back = _bounce_limits()
    in_window = [m for m in earlier if m.created_at >= now - window]
    if count and len(in_window) + 1 >= count:
        return f"{len(in_window) + 1} board changes in {window.total_seconds() / 3600:g} h"
    if back and earlier:
        last = earlier[0]
        if (
            last.created_at >= now - back
            and last.to_board_id == old_board_id
            and last.from_board_id == move.to_board.pk
        ):
            return (
                f"{move.to_board.name} → {last.to_board.name} → {move.to_board.name} "
                f"within {back.total_seconds() / 3600:g} h"
            )
    return ""


def _bounce_guard(ticket: Ticket, move: Move, old_board_id: int, *, actor, now: datetime) -> bool:
    """Clear the flag on a person's move, set it on a bouncing one; return whether the scheduler must hold off.

    Only moves between boards count. Two queries on such a move (the recent
    board changes, the flag), none on a move within a board by the scheduler.
    """
    changed_board = move.to_board.pk != old_board_id
    if actor is not None and _read_flag(ticket) is not False:
        BounceFlag.objects.filter(ticket=ticket).delete()
    reason = ""
    if changed_board:
        reason = _bounce_reason(_recent_board_changes([ticket.pk], now).get(ticket.pk, []), move, old_board_id, now)
    if reason:
        BounceFlag.objects.update_or_create(ticket=ticket, defaults={"flagged_at": now, "reason": reason})
        return bounce_holds()
    if actor is not None:
        return False
    flagged = _read_flag(ticket)
    return bounce_holds() and (BounceFlag.objects.filter(ticket=ticket).exists() if flagged is None else flagged)


def _read_flag(ticket: Ticket) -> bool | None:
    """Whether the ticket has a bounce flag, as its read after the lock brought it (``_lock``); None: not read."""
    if not Ticket.bounce_flag.is_cached(ticket):  # type: ignore[attr-defined]
        return None
    try:
        ticket.bounce_flag  # noqa: B018
    except BounceFlag.DoesNotExist:
        return False
    return True


# --- Inactivity: tickets nobody has touched ----------------------------------------


def inactive_candidates(criterion: Criterion, now: datetime):
    """Open tickets at the criterion's position, in a new or active column, idle for at least its hours of
    wall time (working time never runs faster than the wall clock, so this bounds the working-time check).

    ``last_note_at`` is annotated (None without notes).
    """
    from boards.models import Note

    since = now - timedelta(hours=criterion.idle_hours)
    tickets = Ticket.objects.open().filter(
        column__category__in=[Column.Category.NEW, Column.Category.ACTIVE], updated_at__lte=since
    )
    if criterion.from_board_id:
        tickets = tickets.filter(board_id=criterion.from_board_id)
    if criterion.from_tier is not None:
        tickets = tickets.filter(tier=criterion.from_tier)
    if bounce_holds():
        tickets = tickets.filter(bounce_flag__isnull=True)
    recent_note = Note.objects.filter(ticket=OuterRef("pk"), created_at__gt=since)
    last_note = Note.objects.filter(ticket=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return tickets.exclude(Exists(recent_note)).annotate(last_note_at=Subquery(last_note)).order_by("pk")


def sweep_inactive(now: datetime | None = None) -> tuple[int, int]:
    """Fire every inactivity criterion on the tickets idle for its working hours; return (moved, notified).

    1. Per active inactivity criterion, the candidates: open tickets at its
       position in a new or active column with no note, move or update for
       its hours of wall time (one query; a bound, see ``inactive_candidates``).
    2. Each candidate's idle time is counted in its board's working hours
       (``calendars.working``, calendars read once): only those idle for the
       criterion's hours fire.
    3. A notice per (ticket, criterion, last activity) is inserted first; its
       unique constraint lets one sweep of two fire a stretch. Then the
       ticket moves through the door (naming the criterion), or its assignee
       (else its board's technicians) is emailed after the commit.
    """
    now = now or timezone.now()
    moved = notified = 0
    criteria = list(
        Criterion.objects.active()
        .filter(trigger=Criterion.Trigger.INACTIVITY)
        .select_related("to_board", "to_column")
        .order_by("position", "pk")
    )
    if not criteria:
        return 0, 0
    calendars = load_calendars(Board.objects.values_list("pk", flat=True))
    for criterion in criteria:
        idle_for = timedelta(hours=criterion.idle_hours)
        for ticket in inactive_candidates(criterion, now).select_related("board", "column"):
            last = max(filter(None, (ticket.updated_at, ticket.last_note_at)))
            if working_time_between(calendars[ticket.board_id], last, now) < idle_for:
                continue
            if _fire_inactive(ticket, criterion, last, now):
                if criterion.notify_only:
                    notified += 1
                else:
                    moved += 1
    return moved, notified


def _fire_inactive(ticket: Ticket, criterion: Criterion, last: datetime, now: datetime) -> bool:
    try:
        with transaction.atomic():
            InactivityNotice.objects.create(
                ticket=ticket,
                criterion=criterion,
                last_activity_at=last,
                created_at=now,
                moved=not criterion.notify_only,
            )
            if criterion.notify_only:
                from .tasks import notify_inactive

                ticket_id, criterion_id = ticket.pk, criterion.pk
                transaction.on_commit(lambda: notify_inactive.delay(ticket_id, criterion_id), robust=True)
                return True
            hours = criterion.idle_hours
            move = move_ticket(
                ticket.pk,
                actor=None,
                expected_version=ticket.version,
                criterion=criterion,
                note=f"No note, move or update for {hours} working hour{'s' if hours != 1 else ''}.",
                now=now,
            )
            return move is not None
    except (IntegrityError, Conflict):
        # Another sweep fired this stretch, or someone touched the ticket meanwhile.
        return False
    except NotAllowed as exc:
        log.error("inactivity sweep cannot move %s with “%s”: %s", ticket.number, criterion.name, exc)
        return False
