"""What-if: replay the period's recorded history under a changed time criterion. Writes nothing.

``page_context(data, query, now)`` parses the form (a time criterion, which of
its limits, and a new limit in minutes or "switch it off") and returns the
context ``templates/flow/whatif.html`` renders, with the replay's result when
the form is valid.

What "try limit X" changes
--------------------------
A time criterion has a general limit and may have limits of its own for some
priorities (``Criterion.limit_for``: a priority's own limit, else the general
one; with no general limit it applies to the priorities that have one only).
The what-if changes exactly one of those fields, as the criterion's admin page
would, and nothing else:

- *the general limit* (the default): the priorities without a limit of their
  own get X. On a criterion that had no general limit (P1 and P2 only, say)
  this makes it apply to the other priorities too, at X;
- *P1's (… P4's) own limit*: tickets of that priority get X; the others keep
  theirs.

"Switch it off" leaves the whole criterion out, for every priority. Each
ticket is replayed at its priority now: a change of priority is not in the
Move log, so a ticket raised from P3 to P1 is replayed as a P1 throughout.

How the replay works
--------------------
It reads the Move log of every ticket alive in the period that ever stood
where the chosen criterion applies, and cuts each ticket's history into
*stays*: the time from arriving on a board to leaving it (or to now). A stay
is a run of *segments*, one per recorded move: [this move, the next move) in
one column at one board and tier. The clock is the live one, with the live
code's rules, not a copy of them:

- the clock runs only in columns where ``Column.clock_runs`` (new/active);
  waiting and done pause it;
- it starts from zero on arrival on a board, and carries on when only the
  tier changes (``routing.services._apply``);
- the time criterion that governs a position is ``time_criterion_for(board,
  tier, criteria, priority)``, the function the deadline and the sweep use,
  given the ticket's priority and either today's active time criteria
  (``active_time_criteria()``) or the same list with the chosen criterion's
  limit changed or the criterion left out;
- the clock counts working time on the board's calendar (today's calendars,
  ``calendars.working``, the one definition the deadline and the sweep use):
  a segment's active time is ``working_time_between`` its two moves, and a
  limit runs out at ``add_working_time(segment start, limit − banked)``. A
  Friday 17:50 ticket on Mon–Fri 08:00–18:00 with 30 minutes fires Monday
  08:20, not Friday 18:20. Boards without a calendar (or 24/7) count wall time.

In each stay the replay finds the *first* time limit to fire: in a segment
whose column runs, ``limit − active time banked`` of working time after the
segment's start, if that is before the segment's end — or exactly at its end
when the next recorded move is the scheduler's. The rest of the ticket's history is kept as recorded (we
cannot know how it would have gone), and each stay is compared twice, with
today's criteria and with the changed ones:

- **would not have happened**: today's criteria fire in the stay, the changed
  ones do not. When the recorded escalation itself cut the stay short (a raised
  limit, or another, longer limit governing once the criterion is off), the
  ticket's later recorded work decides: the active time it spent from the
  escalation to its resolution (wherever that was, counted by the same clock,
  each board's working time on its own calendar) is taken as the work it
  still needed. If it was resolved and that work fits in what the new limit
  leaves (new limit − active time at the escalation), the escalation would not
  have happened: the ticket was resolved within the new limit. If no time
  limit governs the position any more, it would not have happened either.
  Otherwise it **would still have happened, later** (estimated at what the new
  limit leaves, in the board's working time after the recorded escalation);
  and a ticket still open now whose work so far fits is **undecided**.
- **would have happened earlier**: both fire, the changed criteria sooner.
- **new**: only the changed criteria fire in the stay (it left the position or
  was resolved between the new, lower limit and the old one).

A stay counts for the period when its escalation with today's limits or with
the changed ones falls in [start, end) (so a lowered limit can bring a ticket
that was still running at the end into the period); with a board filter, stays
on that board. Replaying today's limits unchanged therefore changes nothing, and its
escalations are the scheduler's recorded ones (the page shows both counts: they
differ only where the log holds what today's limits and calendars would not
do — a limit or a board's working hours changed during the period, or a sweep
that ran late past a person's move). The replay counts every stay on today's
calendars: history recorded before a board had working hours (a demo desk's
history, played before its calendars exist) was counted in wall time then.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django import forms
from django.db import connection
from django.http import QueryDict
from django.urls import reverse

from boards.models import Board, Column, Ticket
from calendars.models import Calendar
from calendars.working import NoWorkingTime, add_working_time, load_calendars, working_time_between
from routing.models import PRIORITY_LIMIT_FIELDS, Criterion, Move
from routing.services import active_time_criteria, time_criterion_for

from .period import FlowQuery

LISTED = 100  # tickets listed per outcome (the counts cover all)
PRIORITIES = tuple(PRIORITY_LIMIT_FIELDS)  # 1 … 4
GENERAL = ""  # the form's "which limit": the general one


class _TimeCriterionField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Criterion) -> str:
        return f"{obj.name} ({obj.describe_limit()})"


class WhatIfForm(forms.Form):
    criterion = _TimeCriterionField(
        queryset=Criterion.objects.none(), empty_label=None, label="Time criterion", to_field_name="pk"
    )
    priority = forms.TypedChoiceField(
        choices=[
            (GENERAL, "The general limit (priorities without a limit of their own)"),
            *((str(p), f"P{p}'s own limit") for p in PRIORITIES),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        label="Which limit",
        widget=forms.Select(attrs={"aria-describedby": "whatif-priority-help"}),
    )
    limit = forms.IntegerField(min_value=1, max_value=60 * 24 * 30, required=False, label="New limit (active minutes)")
    off = forms.BooleanField(required=False, label="Switch the whole criterion off instead")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].queryset = Criterion.objects.active().filter(trigger=Criterion.Trigger.TIME)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("off"):
            if cleaned.get("priority") is not None:
                raise forms.ValidationError(
                    "Switching off leaves out the whole criterion, for every priority: choose the general "
                    "limit with it, or give P%(p)s's limit a number of minutes instead.",
                    params={"p": cleaned["priority"]},
                )
        elif cleaned.get("limit") is None:
            raise forms.ValidationError("Give a new limit in minutes, or tick “switch the whole criterion off”.")
        return cleaned


# --- The replay ------------------------------------------------------------------------------


# Times in the replay are whole microseconds since 1970 (ints): exact like the
# datetimes the live code uses, and cheap for the hundreds of thousands of
# moves a month holds (building a datetime per row cost seconds).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = 60_000_000


def _to_datetime(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def _to_micro(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


class Clock:
    """A board's working time in the replay's microseconds: ``calendars.working`` asked, never copied.

    Only boards with working hours get one; a board on wall time (no calendar,
    or 24/7, which ``calendars.working`` counts as plain wall time too) has
    None, and the replay adds and subtracts its integers directly — the
    what-if's speed over a month of moves depends on it.
    """

    __slots__ = ("calendar",)

    def __init__(self, calendar: Calendar):
        self.calendar = calendar

    def between(self, a: int, b: int) -> int:
        """Working microseconds from ``a`` to ``b`` (``working_time_between``)."""
        return working_time_between(self.calendar, _to_datetime(a), _to_datetime(b)) // timedelta(microseconds=1)

    def add(self, start: int, amount: int) -> int | None:
        """The moment ``amount`` working microseconds after ``start`` (``add_working_time``); None: never."""
        try:
            return _to_micro(add_working_time(self.calendar, _to_datetime(start), timedelta(microseconds=amount)))
        except NoWorkingTime:
            return None  # as the live deadline: a calendar with no working time ahead gives none


def clocks_for(boards: Iterable) -> dict[int, Clock | None]:
    """Board id → its Clock, or None for wall time; today's calendars, in three queries."""
    return {
        board_id: Clock(calendar) if calendar is not None and not calendar.always_open else None
        for board_id, calendar in load_calendars(boards).items()
    }


# A segment: (start, end, board id, tier, clock runs, ended by the scheduler's move)
# — one recorded move to the next (or now), in one column at one board and tier.
Segment = tuple[int, int, int, int, bool, bool]


class Stay:
    """From arriving on a board to leaving it (or now): its segments, and what came after.

    On a board with working hours, the active time of each segment is asked of
    its Clock only when something needs it (``works``): most stays a replay
    reads never reach a time limit's position, and each question costs
    microseconds that a month of moves multiplies.
    """

    __slots__ = (
        "_active",
        "_works",
        "board",
        "board_id",
        "clock",
        "later",
        "priority",
        "resolved",
        "segments",
        "ticket_id",
    )

    def __init__(self, ticket_id: int, board: Board, priority: int | None = None, clock: Clock | None = None):
        self.ticket_id = ticket_id
        self.board = board
        self.board_id = board.pk
        self.priority = priority  # the ticket's priority (now)
        self.clock = clock  # the board's working time; None: wall time
        self.segments: list[Segment] = []
        # Active microseconds in the stay (wall time: summed as the segments come; working time: on demand).
        self._active: int | None = 0 if clock is None else None
        self._works: list[int] | None = None
        self.later: list[Stay] = []  # the ticket's stays after this one
        self.resolved = False  # the ticket is resolved now

    def works(self) -> list[int]:
        """Active microseconds per segment, in the board's working time (0 where the clock stands still)."""
        if self._works is None:
            clock = self.clock
            self._works = [
                ((end - start) if clock is None else clock.between(start, end)) if runs else 0
                for start, end, _b, _t, runs, _n in self.segments
            ]
        return self._works

    @property
    def active(self) -> int:
        """Active microseconds in the stay, as the clock counts them."""
        if self._active is None:
            self._active = sum(self.works())
        return self._active

    @property
    def work_after(self) -> int:
        """Active microseconds the ticket worked after this stay until its resolution (or now)."""
        return sum(stay.active for stay in self.later)


@dataclass(frozen=True)
class Fire:
    criterion: Criterion
    at: datetime
    banked: int  # active microseconds on the board when it fired
    last_segment: bool  # fired in the stay's last segment, which the scheduler's move ended: the recorded escalation


@dataclass(frozen=True)
class Outcome:
    ticket_id: int
    board: str
    before: Fire | None
    after: Fire | None
    note: str = ""
    priority: int | None = None

    @property
    def url(self) -> str:
        return reverse("ticket", args=[self.ticket_id])

    @property
    def shift_minutes(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return round((self.before.at - self.after.at).total_seconds() / 60)


@dataclass
class Result:
    criterion: Criterion
    new_limit: int | None  # None: switched off
    query: FlowQuery
    priority: int | None = None  # whose limit changed: None the general one, 1–4 that priority's own
    not_happened: list[Outcome] = field(default_factory=list)
    earlier: list[Outcome] = field(default_factory=list)
    new: list[Outcome] = field(default_factory=list)
    later: list[Outcome] = field(default_factory=list)
    undecided: list[Outcome] = field(default_factory=list)
    unchanged: int = 0
    replayed_now: int = 0  # escalations by the criterion today's limits give in the period
    recorded: int = 0  # escalations by the criterion the scheduler recorded in the period
    stays: int = 0
    tickets: int = 0

    @property
    def change_text(self) -> str:
        """The change in words, saying which limit and what it was, after "With": "“NOC fast lane”'s P1 limit
        at 5 instead of 10 active minutes"."""
        c, name = self.criterion, f"“{self.criterion.name}”"
        if self.new_limit is None:
            return f"{name} switched off"
        if self.priority is None:
            own = c.priority_limits
            if not own:
                return f"{name} at {self.new_limit} instead of {c.time_limit_minutes} active minutes"
            kept = ", ".join(f"P{p} {m} min" for p, m in own.items())
            if c.time_limit_minutes is None:
                return (
                    f"{name}'s general limit at {self.new_limit} active minutes for the priorities without "
                    f"their own (it had none: {kept} only)"
                )
            return (
                f"{name}'s general limit at {self.new_limit} instead of {c.time_limit_minutes} active "
                f"minutes ({kept} kept)"
            )
        p = self.priority
        own = c.priority_limits.get(p)
        changed = f"{name}'s P{p} limit at {self.new_limit}"
        if own is not None:
            return f"{changed} instead of {own} active minutes"
        if c.time_limit_minutes is not None:
            return f"{changed} instead of the general {c.time_limit_minutes} active minutes"
        return f"{changed} active minutes (it set no limit for P{p} tickets)"

    @property
    def summary_text(self) -> str:
        return (
            f"{len(self.not_happened)} would not have happened, {len(self.earlier)} earlier, "
            f"{len(self.new)} new, {len(self.later)} later, {len(self.undecided)} undecided"
        )

    @property
    def groups(self) -> list[tuple[str, str, str, list[Outcome]]]:
        return [
            (
                "not-happened",
                "Would not have happened",
                "Escalated, but with this change it would not have been: "
                "no limit applies any more, or the ticket was resolved within the new limit.",
                self.not_happened,
            ),
            ("earlier", "Would have happened earlier", "Escalated, and would have been sooner.", self.earlier),
            (
                "new",
                "New escalations",
                "Not escalated, but would have been: the ticket left or was resolved "
                "between the new limit and the old one.",
                self.new,
            ),
            (
                "later",
                "Would still have happened, later",
                "Escalated, and still would have been: its later work took longer than the new limit leaves.",
                self.later,
            ),
            (
                "undecided",
                "Undecided: still open",
                "Escalated; still open now, and its work so far fits in the new limit.",
                self.undecided,
            ),
        ]


def _criteria_with(
    criteria: list[Criterion], target: Criterion, new_limit: int | None, priority: int | None = None
) -> list[Criterion]:
    """Today's active time criteria with ``target``'s general limit (or ``priority``'s own) at ``new_limit``,
    or ``target`` left out (``new_limit`` None).

    Copies: nothing is saved."""
    changed = []
    for c in criteria:
        if c.pk != target.pk:
            changed.append(c)
        elif new_limit is not None:
            c = copy.copy(c)
            setattr(c, "time_limit_minutes" if priority is None else PRIORITY_LIMIT_FIELDS[priority], new_limit)
            changed.append(c)
    return changed


class _Governs:
    """``time_criterion_for`` per (board, tier, priority), remembered with its limit in microseconds:
    a history asks the same few positions over and over."""

    def __init__(self, criteria: list[Criterion], boards: dict[int, Board]):
        self.criteria = criteria
        self.boards = boards
        self.memo: dict[tuple[int, int, int | None], tuple[Criterion, int] | None] = {}

    def __call__(self, board_id: int, tier: int, priority: int | None = None) -> tuple[Criterion, int] | None:
        key = (board_id, tier, priority)
        if key not in self.memo:
            found = time_criterion_for(self.boards[board_id], tier, self.criteria, priority)
            self.memo[key] = None if found is None else (found, found.limit_for(priority) * MINUTE)
        return self.memo[key]


def first_fire(stay: Stay, governs: _Governs) -> Fire | None:
    """The first time limit to fire in a stay, by the live clock's rules (see the module docstring)."""
    banked = 0
    segments = stay.segments
    last = len(segments) - 1
    priority, clock = stay.priority, stay.clock
    works = None if clock is None else stay.works()
    memo = governs.memo  # (read directly: this runs for every stay of a month, twice)
    for i, (start, end, board_id, tier, runs, scheduler_next) in enumerate(segments):
        if not runs:
            continue
        work = end - start if works is None else works[i]
        key = (board_id, tier, priority)
        governing = memo[key] if key in memo else governs(board_id, tier, priority)
        if governing is not None:
            left = governing[1] - banked
            if left < 0:
                left = 0
            if left <= work:  # the limit runs out in this segment, or exactly at its end
                due = start + left if clock is None else clock.add(start, left)
                if due is not None and (due < end or (due == end and scheduler_next)):
                    return Fire(governing[0], _to_datetime(due), banked + left, i == last and scheduler_next)
        banked += work
    return None


def _read_history(query: FlowQuery, target: Criterion, now: datetime) -> list[tuple]:
    """The moves, in order, of every ticket alive in the period that ever stood where ``target`` applies.

    Rows: (ticket, to board, to column, to tier, criterion, no actor, time in
    microseconds, the ticket's priority). Served by move_ticket_timeline_idx, index-only.
    """
    m, t = connection.ops.quote_name(Move._meta.db_table), connection.ops.quote_name(Ticket._meta.db_table)
    where, params = [], []
    if target.from_board_id is not None:
        where.append("p.to_board_id = %s")
        params.append(target.from_board_id)
    if target.from_tier is not None:
        where.append("p.to_tier = %s")
        params.append(target.from_tier)
    position = " AND ".join(where) or "TRUE"
    postgres = connection.vendor == "postgresql"
    at = "round(date_part('epoch', m.created_at) * 1000000)::bigint" if postgres else "m.created_at"
    adapt = connection.ops.adapt_datetimefield_value
    tickets = f"""
        SELECT t.id, t.priority FROM {t} t
         WHERE t.created_at < %s AND (t.resolved_at IS NULL OR t.resolved_at >= %s)
           AND EXISTS (SELECT 1 FROM {m} p WHERE p.ticket_id = t.id AND {position})"""
    nobody = "CASE WHEN m.actor_id IS NULL THEN 1 ELSE 0 END"
    columns = f"m.ticket_id, m.to_board_id, m.to_column_id, m.to_tier, m.criterion_id, {nobody}, {at}, k.priority"
    if postgres:
        # Per ticket through its index (LATERAL, kept by OFFSET 0): left to itself the
        # planner merges against the whole log.
        sql = f"""
            SELECT {columns}
              FROM ({tickets} ORDER BY t.id) k
             CROSS JOIN LATERAL (
                    SELECT m.ticket_id, m.to_board_id, m.to_column_id, m.to_tier, m.criterion_id, m.actor_id,
                           m.created_at, m.id
                      FROM {m} m WHERE m.ticket_id = k.id AND m.created_at <= %s
                     ORDER BY m.created_at, m.id OFFSET 0) m
        """  # a nested loop over the tickets in id order: each ticket's moves come together, in order
    else:
        sql = f"""
            SELECT {columns} FROM {m} m JOIN ({tickets}) k ON k.id = m.ticket_id
             WHERE m.created_at <= %s
             ORDER BY m.ticket_id, m.created_at, m.id
        """
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(query.end), adapt(query.start), *params, adapt(now)])
        rows = cursor.fetchall()  # one call: iterating row by row through the wrapper costs more
    if postgres:
        return rows if _grouped(rows) else sorted(rows, key=lambda r: r[0])  # (a stable sort keeps each one's order)
    from .gauges import _datetime_converter

    convert = _datetime_converter()
    return [(*row[:6], _to_micro(convert(row[6])), row[7]) for row in rows]


def _grouped(rows: list[tuple]) -> bool:
    """Whether each ticket's rows come together (the plan's nested loop gives them so)."""
    seen, last = set(), None
    for row in rows:
        if row[0] != last:
            if row[0] in seen:
                return False
            seen.add(row[0])
            last = row[0]
    return True


def _stays(
    rows: Iterable[tuple],
    now: datetime,
    boards: dict[int, Board],
    runs: dict[int, bool],
    time_ids: set[int],
    clocks: dict[int, Clock | None] | None = None,
):
    """Cut each ticket's moves into stays of segments; yields (the ticket's stays, resolved now), one per ticket.

    ``runs`` says, per column id, whether the clock runs there (``Column.clock_runs``);
    a column missing from it is a done one. ``clocks``: board id → its working
    time (``clocks_for``); without, every board counts wall time.
    """
    now_us = _to_micro(now)
    clocks = clocks or {}
    ticket_id, moves = None, []
    for row in rows:
        if row[0] != ticket_id and moves:
            yield _ticket_stays(ticket_id, moves, now_us, boards, runs, time_ids, clocks)
            moves = []
        ticket_id = row[0]
        moves.append(row)
    if moves:
        yield _ticket_stays(ticket_id, moves, now_us, boards, runs, time_ids, clocks)


def _ticket_stays(ticket_id, moves, now_us, boards, runs, time_ids, clocks) -> list[Stay]:
    stays: list[Stay] = []
    stay, stay_board, clock = None, None, None
    count = len(moves)
    priority = moves[0][7]  # the ticket's, on every row
    for i in range(count):
        board_id, column_id, tier, at = moves[i][1], moves[i][2], moves[i][3], moves[i][6]
        if i + 1 < count:
            nxt = moves[i + 1]
            end, scheduler_next = nxt[6], bool(nxt[5]) and nxt[4] in time_ids
        else:
            end, scheduler_next = (now_us if now_us > at else at), False
        if board_id != stay_board:
            clock = clocks.get(board_id)
            stay, stay_board = Stay(ticket_id, boards[board_id], priority, clock), board_id
            stays.append(stay)
        running = runs[column_id]
        stay.segments.append((at, end, board_id, tier, running, scheduler_next))
        if running and clock is None:
            stay._active += end - at  # wall time; a working-hours board counts when asked (Stay.works)
    # The work each stay was followed by, as the clock counts it, up to the resolution or now.
    resolved = runs[moves[-1][2]] is None
    for i, stay in enumerate(stays):
        stay.later, stay.resolved = stays[i + 1 :], resolved
    return stays


def replay(
    query: FlowQuery, now: datetime, target: Criterion, new_limit: int | None, priority: int | None = None
) -> Result:
    """Replay the period with ``target``'s general limit — or ``priority``'s own — at ``new_limit`` active
    minutes (``new_limit`` None: the whole criterion switched off).

    See the module docstring for the rules. Stays where the target applies at
    no position, or not to the ticket's priority either way, are the same under
    both and skipped; so are stays whose escalations fall outside the period.
    """
    today = active_time_criteria()
    target = next((c for c in today if c.pk == target.pk), target)
    changed = _criteria_with(today, target, new_limit, priority)
    changed_target = next((c for c in changed if c.pk == target.pk), None)
    boards = {b.pk: b for b in Board.objects.all()}
    clocks = clocks_for(boards)
    before, after = _Governs(today, boards), _Governs(changed, boards)
    runs = {c.pk: (c.clock_runs if not c.is_done else None) for c in Column.objects.all()}
    time_ids = set(Criterion.objects.filter(trigger=Criterion.Trigger.TIME).values_list("pk", flat=True))
    applies: dict[tuple[int, int], bool] = {}
    result = Result(criterion=target, new_limit=new_limit, query=query, priority=priority)
    # The priorities the target limits today or with the change; of those, the ones whose limit changes
    # (the others replay the same twice, so the second replay is skipped).
    touched = {p for p in PRIORITIES if target.limit_for(p) or (changed_target and changed_target.limit_for(p))}
    differs = {p for p in touched if changed_target is None or target.limit_for(p) != changed_target.limit_for(p)}

    def touches_target(stay: Stay) -> bool:
        if stay.priority not in touched:
            return False
        for _s, _e, board_id, tier, running, _n in stay.segments:
            if running:
                key = (board_id, tier)
                if key not in applies:
                    applies[key] = target.applies_to(boards[board_id], tier)
                if applies[key]:
                    return True
        return False

    def in_period(fire: Fire | None) -> bool:
        return fire is not None and query.start <= fire.at < query.end

    board_filter = query.board.pk if query.board is not None else None
    # A limit fires inside its stay: a stay over before the period can't escalate in it, with either limits.
    period_start = _to_micro(query.start)
    for stays in _stays(_read_history(query, target, now), now, boards, runs, time_ids, clocks):
        result.tickets += 1
        for stay in stays:
            if board_filter is not None and stay.board_id != board_filter:
                continue
            if stay.segments[-1][1] < period_start or not touches_target(stay):
                continue
            was = first_fire(stay, before)
            would = first_fire(stay, after) if stay.priority in differs else was
            if was is None and would is None:
                continue
            if not (in_period(was) or in_period(would)):
                continue
            result.stays += 1
            if was is not None and was.criterion.pk == target.pk and in_period(was):
                result.replayed_now += 1
            outcome = Outcome(stay.ticket_id, stay.board.name, was, would, priority=stay.priority)
            if was is None:
                result.new.append(outcome)
            elif would is None:
                _extrapolate(result, stay, was, after, outcome)
            elif would.at < was.at:
                result.earlier.append(outcome)
            elif would.at > was.at:
                result.later.append(outcome)
            else:
                result.unchanged += 1
    recorded = Move.objects.filter(
        criterion=target, actor__isnull=True, created_at__gte=query.start, created_at__lt=query.end
    )
    if query.board is not None:
        recorded = recorded.filter(from_board=query.board)
    result.recorded = recorded.count()
    return result


def _extrapolate(result: Result, stay: Stay, was: Fire, after: _Governs, outcome: Outcome) -> None:
    """Today's limit fired in this stay, the changed ones not (within the recorded stay)."""
    _s, _e, board_id, tier, _r, _n = stay.segments[-1]
    governing = after(board_id, tier, stay.priority)
    if not was.last_segment or governing is None:
        # Either the stay went on after the old limit and the new one never came
        # (the recorded history shows it), or no limit governs here any more.
        result.not_happened.append(outcome)
        return
    # The recorded escalation cut the stay short: let the ticket's later work decide.
    criterion, limit = governing
    left = max(limit - was.banked, 0)
    if stay.work_after > left:
        # What the new limit leaves, counted on from the recorded escalation in the board's working time.
        start = _to_micro(was.at)
        due = start + left if stay.clock is None else stay.clock.add(start, left)
        if due is None:  # the board's calendar has no working time ahead: the limit never runs out
            result.not_happened.append(replace(outcome, after=None, note="no working hours ahead"))
            return
        result.later.append(replace(outcome, after=Fire(criterion, _to_datetime(due), limit, False), note="estimated"))
    elif stay.resolved:
        minutes = round(stay.work_after / MINUTE)
        note = f"resolved after {minutes} more active minutes"
        result.not_happened.append(replace(outcome, after=None, note=note))
    else:
        result.undecided.append(outcome)


# --- The page ------------------------------------------------------------------------------


def page_context(data: QueryDict, query: FlowQuery, now: datetime) -> dict:
    """The form, and the replay when the form is filled in and valid. Writes nothing."""
    bound = "criterion" in data
    form = WhatIfForm(data if bound else None)
    context = {"form": form, "result": None, "hidden_params": query.params()}
    if bound and form.is_valid():
        criterion = form.cleaned_data["criterion"]
        new_limit = None if form.cleaned_data["off"] else form.cleaned_data["limit"]
        priority = None if new_limit is None else form.cleaned_data.get("priority")
        context["result"] = replay(query, now, criterion, new_limit, priority)
    return context
