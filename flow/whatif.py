"""What-if: replay the period's recorded history under a changed time criterion. Writes nothing.

``page_context(data, query, now)`` parses the form (a time criterion, and a new
limit in minutes or "switch it off") and returns the context
``templates/flow/whatif.html`` renders, with the replay's result when the form
is valid.

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
  tier, criteria)``, the function the deadline and the sweep use, given either
  today's active time criteria (``active_time_criteria()``) or the same list
  with the chosen criterion's limit changed or the criterion left out.

In each stay the replay finds the *first* time limit to fire: in a segment
whose column runs, at ``segment start + (limit − active time banked)``, if that
is before the segment's end — or exactly at its end when the next recorded move
is the scheduler's. The rest of the ticket's history is kept as recorded (we
cannot know how it would have gone), and each stay is compared twice, with
today's criteria and with the changed ones:

- **would not have happened**: today's criteria fire in the stay, the changed
  ones do not. When the recorded escalation itself cut the stay short (a raised
  limit, or another, longer limit governing once the criterion is off), the
  ticket's later recorded work decides: the active time it spent from the
  escalation to its resolution (wherever that was, counted by the same clock)
  is taken as the work it still needed. If it was resolved and that work fits
  in what the new limit leaves (new limit − active time at the escalation), the
  escalation would not have happened: the ticket was resolved within the new
  limit. If no time limit governs the position any more, it would not have
  happened either. Otherwise it **would still have happened, later**; and a
  ticket still open now whose work so far fits is **undecided**.
- **would have happened earlier**: both fire, the changed criteria sooner.
- **new**: only the changed criteria fire in the stay (it left the position or
  was resolved between the new, lower limit and the old one).

A stay counts for the period when its escalation with today's limits or with
the changed ones falls in [start, end) (so a lowered limit can bring a ticket
that was still running at the end into the period); with a board filter, stays
on that board. Replaying today's limits unchanged therefore changes nothing, and its
escalations are the scheduler's recorded ones (the page shows both counts: they
differ only where the log holds what today's limits would not do — a limit
changed during the period, or a sweep that ran late past a person's move).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django import forms
from django.db import connection
from django.http import QueryDict
from django.urls import reverse

from boards.models import Board, Column, Ticket
from routing.models import Criterion, Move
from routing.services import active_time_criteria, time_criterion_for

from .period import FlowQuery

LISTED = 100  # tickets listed per outcome (the counts cover all)


class WhatIfForm(forms.Form):
    criterion = forms.ModelChoiceField(
        queryset=Criterion.objects.none(), empty_label=None, label="Time criterion", to_field_name="pk"
    )
    limit = forms.IntegerField(min_value=1, max_value=60 * 24 * 30, required=False, label="New limit (active minutes)")
    off = forms.BooleanField(required=False, label="Switch it off instead")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].queryset = Criterion.objects.active().filter(trigger=Criterion.Trigger.TIME)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("off") and cleaned.get("limit") is None:
            raise forms.ValidationError("Give a new limit in minutes, or tick “switch it off”.")
        return cleaned


# --- The replay ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime  # the next move, or now for the last one
    board: Board
    tier: int
    column: Column
    scheduler_next: bool  # the move that ends it is the scheduler's


@dataclass
class Stay:
    ticket_id: int
    board: Board
    segments: list[Segment] = field(default_factory=list)
    # Active seconds the ticket worked after this stay's end until its resolution (or now), and whether it was resolved.
    work_after: float = 0.0
    resolved: bool = False


@dataclass(frozen=True)
class Fire:
    criterion: Criterion
    at: datetime
    banked: float  # active seconds on the board when it fired
    last_segment: bool  # fired at the end of the stay's last segment: the recorded escalation


@dataclass(frozen=True)
class Outcome:
    ticket_id: int
    board: str
    before: Fire | None
    after: Fire | None
    note: str = ""

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
        if self.new_limit is None:
            return f"“{self.criterion.name}” switched off"
        return (
            f"“{self.criterion.name}” at {self.new_limit} instead of {self.criterion.time_limit_minutes} active minutes"
        )

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


def _criteria_with(criteria: list[Criterion], target: Criterion, new_limit: int | None) -> list[Criterion]:
    """Today's active time criteria with ``target`` given ``new_limit``, or left out (None).

    Copies: nothing is saved."""
    changed = []
    for c in criteria:
        if c.pk != target.pk:
            changed.append(c)
        elif new_limit is not None:
            c = copy.copy(c)
            c.time_limit_minutes = new_limit
            changed.append(c)
    return changed


class _Governs:
    """``time_criterion_for`` per (board, tier), remembered: a history asks the same few positions over and over."""

    def __init__(self, criteria: list[Criterion]):
        self.criteria = criteria
        self.memo: dict[tuple[int, int], Criterion | None] = {}

    def __call__(self, board: Board, tier: int) -> Criterion | None:
        key = (board.pk, tier)
        if key not in self.memo:
            self.memo[key] = time_criterion_for(board, tier, self.criteria)
        return self.memo[key]


def first_fire(stay: Stay, governs: _Governs) -> Fire | None:
    """The first time limit to fire in a stay, by the live clock's rules (see the module docstring)."""
    banked = 0.0
    for i, seg in enumerate(stay.segments):
        length = (seg.end - seg.start).total_seconds()
        if not seg.column.clock_runs:
            continue
        criterion = governs(seg.board, seg.tier)
        if criterion is not None:
            left = criterion.time_limit_minutes * 60 - banked
            due = seg.start + timedelta(seconds=max(left, 0))
            if due < seg.end or (due == seg.end and seg.scheduler_next):
                last = i == len(stay.segments) - 1
                return Fire(criterion, due, banked + max(left, 0), last and seg.scheduler_next)
        banked += length
    return None


def _read_history(query: FlowQuery, target: Criterion, now: datetime) -> Iterable[tuple]:
    """The moves, in order, of every ticket alive in the period that ever stood where ``target`` applies."""
    m, t = connection.ops.quote_name(Move._meta.db_table), connection.ops.quote_name(Ticket._meta.db_table)
    where, params = [], []
    if target.from_board_id is not None:
        where.append("p.to_board_id = %s")
        params.append(target.from_board_id)
    if target.from_tier is not None:
        where.append("p.to_tier = %s")
        params.append(target.from_tier)
    position = " AND ".join(where) or "TRUE"
    adapt = connection.ops.adapt_datetimefield_value
    sql = f"""
        SELECT m.ticket_id, m.to_board_id, m.to_column_id, m.to_tier, m.criterion_id,
               CASE WHEN m.actor_id IS NULL THEN 1 ELSE 0 END, m.created_at
          FROM {m} m
         WHERE m.ticket_id IN (
                SELECT t.id FROM {t} t
                 WHERE t.created_at < %s AND (t.resolved_at IS NULL OR t.resolved_at >= %s)
                   AND EXISTS (SELECT 1 FROM {m} p WHERE p.ticket_id = t.id AND {position}))
           AND m.created_at <= %s
         ORDER BY m.ticket_id, m.created_at, m.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(query.end), adapt(query.start), *params, adapt(now)])
        yield from cursor


def _stays(
    rows: Iterable[tuple], now: datetime, boards: dict[int, Board], columns: dict[int, Column], time_ids: set[int]
):
    """Cut each ticket's moves into stays of segments; yields lists of stays, one list per ticket."""
    from .gauges import _datetime_converter

    convert = _datetime_converter()
    ticket_id, moves = None, []
    for row in rows:
        if row[0] != ticket_id and moves:
            yield _ticket_stays(ticket_id, moves, now, boards, columns, time_ids)
            moves = []
        ticket_id = row[0]
        moves.append((row[1], row[2], row[3], row[4], row[5], convert(row[6])))
    if moves:
        yield _ticket_stays(ticket_id, moves, now, boards, columns, time_ids)


def _ticket_stays(ticket_id, moves, now, boards, columns, time_ids) -> list[Stay]:
    stays: list[Stay] = []
    for i, (board_id, column_id, tier, _criterion, _by_nobody, at) in enumerate(moves):
        if i + 1 < len(moves):
            _b, _c, _t, next_criterion, next_by_nobody, end = moves[i + 1]
            scheduler_next = bool(next_by_nobody) and next_criterion in time_ids
        else:
            end, scheduler_next = max(now, at), False
        board = boards[board_id]
        if not stays or stays[-1].board.pk != board_id:
            stays.append(Stay(ticket_id, board))
        stays[-1].segments.append(Segment(at, end, board, tier, columns[column_id], scheduler_next))
    # The work each stay was followed by, as the clock counts it, up to the resolution or now.
    after = 0.0
    resolved = columns[moves[-1][1]].is_done
    for stay in reversed(stays):
        stay.work_after, stay.resolved = after, resolved
        after += sum((s.end - s.start).total_seconds() for s in stay.segments if s.column.clock_runs)
    return stays


def replay(query: FlowQuery, now: datetime, target: Criterion, new_limit: int | None) -> Result:
    """Replay the period with ``target`` at ``new_limit`` active minutes (None: switched off).

    See the module docstring for the rules."""
    today = active_time_criteria()
    target = next((c for c in today if c.pk == target.pk), target)
    changed = _criteria_with(today, target, new_limit)
    before, after = _Governs(today), _Governs(changed)
    boards = {b.pk: b for b in Board.objects.all()}
    columns = {c.pk: c for c in Column.objects.all()}
    time_ids = set(Criterion.objects.filter(trigger=Criterion.Trigger.TIME).values_list("pk", flat=True))
    result = Result(criterion=target, new_limit=new_limit, query=query)

    def in_period(fire: Fire | None) -> bool:
        return fire is not None and query.start <= fire.at < query.end

    for stays in _stays(_read_history(query, target, now), now, boards, columns, time_ids):
        result.tickets += 1
        for stay in stays:
            if query.board is not None and stay.board.pk != query.board.pk:
                continue
            was, would = first_fire(stay, before), first_fire(stay, after)
            if was is None and would is None:
                continue
            if not (in_period(was) or in_period(would)):
                continue
            result.stays += 1
            if was is not None and was.criterion.pk == target.pk:
                result.replayed_now += 1
            outcome = Outcome(stay.ticket_id, stay.board.name, was, would)
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
    result.recorded = (
        Move.objects.filter(criterion=target, actor__isnull=True, created_at__gte=query.start, created_at__lt=query.end)
        .filter(**({"from_board": query.board} if query.board is not None else {}))
        .count()
    )
    return result


def _extrapolate(result: Result, stay: Stay, was: Fire, after: _Governs, outcome: Outcome) -> None:
    """Today's limit fired in this stay, the changed ones not (within the recorded stay)."""
    last = stay.segments[-1]
    governing = after(last.board, last.tier)
    if not was.last_segment or governing is None:
        # Either the stay went on after the old limit and the new one never came
        # (so the recorded history shows it), or no limit governs here any more.
        result.not_happened.append(outcome)
        return
    # The recorded escalation cut the stay short: let the ticket's later work decide.
    left = governing.time_limit_minutes * 60 - was.banked
    if stay.work_after > left:
        estimate = Fire(governing, was.at + timedelta(seconds=left), governing.time_limit_minutes * 60, False)
        result.later.append(Outcome(outcome.ticket_id, outcome.board, was, estimate, "estimated"))
    elif stay.resolved:
        result.not_happened.append(
            Outcome(
                outcome.ticket_id,
                outcome.board,
                was,
                None,
                f"resolved after {round(stay.work_after / 60)} more active minutes",
            )
        )
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
        context["result"] = replay(query, now, criterion, new_limit)
    return context
