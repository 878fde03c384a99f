"""Per-ticket facts for the Flow page, kept up to date from the Move log outside the request.

Three gauges have to look at each ticket's whole history, whatever the period:
time on each board (every stay of every resolved ticket), the paths behind
bounces, wasted escalations and "came back" (each routing move with the one
before and after it), and the board and tier a note was written at. Over a
month of a busy desk that is most of the log, read on every page view. So
``build`` derives them once per ticket into ``flow.models`` and the page reads
those rows; the SQL that derives them is written once, here, and the gauges
run the very same SQL live for the tickets the facts do not cover yet.

Which tickets the facts cover
-----------------------------
``FactsState.moves_through`` (M) and ``notes_through`` (N) are watermarks: every
move with id <= M and every note with id <= N is reflected in the facts. A
ticket with any move after M — new work since the last build, a move a bulk
insert or a slow transaction committed late — is *live*: the gauges ignore its
facts and compute it from the raw moves (likewise notes after N). So the page
is exact whenever it is read; a build that lags only makes it slower.

Making the watermark safe (``_safe_watermarks``), numbered:

1. read the highest move and note ids committed now (M, N);
2. list the other transactions in this database that hold a transaction id
   (that have written something): any id below M not yet visible belongs to
   one of them, since ids are handed out in time order and M's own
   transaction has committed;
3. wait until each of them has ended (committed or rolled back), up to a few
   seconds; if one is still running, give up this build (the next tries again);
4. build in a new transaction, which now sees every move <= M that will ever exist.

On SQLite (a laptop, one writer at a time) step 2 has nothing to ask. Every
CHECK_EVERY a build also rebuilds every ticket whose ``version`` no longer
matches its facts (a move always bumps it), which heals anything a watermark
missed, and checks each daily count's total against its source.

Ids, not times: ``created_at`` is the caller's ``now`` (a sweep's batch start,
a backdated import), so it says nothing about commit order.

Daily counts
------------
Counts that add up over days (routing moves, openings, resolutions, minutes
logged, and resolved tickets' time on a board per value bucket) are also kept
per local day (``DailyCount``), so a 90-day period sums 90 rows per key instead
of reading every move: ``whole_days`` cuts a period into the days they answer,
and the ragged ends plus everything live are read raw. They are kept by
adding what each build changes; a check every CHECK_EVERY compares their
totals with the log and counts afresh when they disagree.

Changes that are not moves
--------------------------
A deleted ticket takes its moves and per-ticket facts with it (CASCADE); a
signal stops the daily counts being read until the next build counts afresh. A
note edited, moved or deleted in admin is placed again and its tickets' senior
minutes recounted at once, by signals (``flow.apps``). Changes made with raw SQL
reach the facts at the next check, or with ``manage.py flow_facts --full``.
"""

from __future__ import annotations

import logging
import math
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock

from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, Q, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from boards.models import Column, Note, Ticket
from routing.models import OPENING_MOVE, ROUTING_MOVE, Move

from .models import BoardTime, DailyCount, FactsState, NotePosition, RoutingStep, TicketFact
from .sql import (
    PATH_COLUMNS,
    TIMELINE_COLUMNS,
    _board_change_sql,
    _duration_seconds,
    _epoch,
    _fetch,
    _moves_of,
    _param,
    _postgres,
    _routing_sql,
    _table,
)

log = logging.getLogger(__name__)

WAIT_SECONDS = 10.0  # how long a build waits for in-flight writers before giving up (step 3)
# How often a build also checks the facts against the log as a whole (every ticket's version,
# every count's total): the safety net for what the watermark and the signals cannot see (a
# ticket deleted with raw SQL, a move the watermark missed). Between checks a build reads only
# what is new, so the beat task's minutely cost follows the new work, not the log's size.
CHECK_EVERY = timedelta(minutes=10)


# --- Reads the map and the gauges share within one page ------------------------------------

_shared: ContextVar[dict | None] = ContextVar("flow_facts_shared", default=None)


@contextmanager
def shared_reads():
    """Within this block (one page's read transaction: ``flow.gauges.read_only_fast``), the
    map and the gauges read how far the facts go, the routing counts and the resolutions once."""
    if _shared.get() is not None:
        yield
        return
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _once(key: tuple, read: Callable):
    memo = _shared.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


# --- Which tickets are covered ---------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How far the facts go, read once per request (one query)."""

    moves_through: int = 0
    notes_through: int = 0
    built_at: datetime | None = None
    time_zone: str = ""

    @property
    def built(self) -> bool:
        return self.built_at is not None

    @classmethod
    def read(cls) -> Coverage:
        return _once(("coverage",), cls._read)

    @classmethod
    def _read(cls) -> Coverage:
        state = (
            FactsState.objects.filter(pk=1)
            .values_list("moves_through", "notes_through", "built_at", "time_zone")
            .first()
        )
        return cls(*state) if state else cls()

    def live_cte(self) -> tuple[str, list]:
        """``live``: the tickets with a move after the watermark (through the primary key, a handful)."""
        return f"live AS (SELECT DISTINCT ticket_id FROM {_table(Move)} WHERE id > %s)", [self.moves_through]

    def is_live(self, column: str) -> str:
        """SQL: this ticket must be computed from the raw moves (every ticket before the first build).

        On PostgreSQL as ``= ANY(ARRAY(…))``: the handful of ids is read once and each
        probed through the column's index, where ``IN (subquery)`` may hash-join a whole table."""
        if not self.built:
            return "1 = 1"
        if _postgres():
            return f"{column} = ANY(ARRAY(SELECT ticket_id FROM live))"
        return f"{column} IN (SELECT ticket_id FROM live)"

    def is_covered(self, column: str) -> str:
        """SQL: this ticket's facts hold (none before the first build)."""
        return f"{column} NOT IN (SELECT ticket_id FROM live)" if self.built else "1 = 0"


# --- The definitions, written once: the live gauges and the builder both run them ---------


def cohort_cte(condition: str) -> str:
    """``cohort``: resolved tickets matching ``condition`` (on ``t``, the ticket), each with the
    board its first board move left from (``first_from``; NULL: it never left its first board)."""
    m, t = _table(Move), _table(Ticket)
    return f"""cohort AS (
            SELECT t.id AS ticket_id, t.board_id, t.tier, t.version, t.active_time, t.created_at,
                   t.resolved_at, t.entered_board_at,
                   (SELECT b.from_board_id FROM {m} b
                     WHERE b.ticket_id = t.id AND {_board_change_sql("b")}
                     ORDER BY b.created_at LIMIT 1) AS first_from
              FROM {t} t
             WHERE t.resolved_at IS NOT NULL AND {condition}
        )"""


def running_columns() -> list[int]:
    return [c.pk for c in Column.objects.all() if c.clock_runs]


def board_time_ctes(running: list[int]) -> str:
    """From ``cohort``: ``per_ticket`` (ticket_id, board_id, active, wall) in seconds, the time each
    resolved ticket spent on each board over its whole life (visits added up).

    A ticket that never changed board spent its life on it: active time is the
    clock it banked (``Ticket.active_time``), wall time resolution minus
    opening. For the others every move adds or takes away its moment, so that
    the sums come to the time between arriving and leaving: leaving a board
    adds the move's time to that board's wall time and arriving subtracts it,
    the last board is left at ``resolved_at``; leaving a running column adds the
    time to active time and entering one subtracts it. No ordering and no
    window over the log: one index-only read of each such ticket's moves
    (move_ticket_timeline_idx).
    """
    ids = ", ".join(str(pk) for pk in running) or "NULL"
    at = _epoch("mv.created_at")
    # The moves that change a sum: arrivals, departures, and column moves that start or stop the clock
    # (a move between two running columns, or two paused ones, adds and takes away the same moment).
    before_last_arrival = (
        f"m.created_at <= k.entered_board_at AND (m.from_board_id IS NULL OR m.from_board_id <> m.to_board_id "
        f"OR (m.from_column_id IN ({ids})) <> (m.to_column_id IN ({ids})))"
    )
    return f"""moved AS (
            SELECT ticket_id, board_id, entered_board_at FROM cohort WHERE first_from IS NOT NULL
        ), mv AS (
            SELECT m.ticket_id, m.from_board_id, m.to_board_id, m.from_column_id, m.to_column_id, m.created_at,
                   k.board_id AS last_board, k.entered_board_at AS last_arrival
              FROM moved k {_moves_of("k", "m", TIMELINE_COLUMNS, before_last_arrival)}
        ), signed AS (
            -- Arriving (or a move within one board): the to-board's row, when it changes a clock.
            -- Not the arrival on the last board: that stay comes from the ticket's own clock, below.
            SELECT mv.ticket_id, mv.to_board_id AS board_id,
                   (CASE WHEN mv.from_board_id = mv.to_board_id AND mv.from_column_id IN ({ids})
                         THEN {at} ELSE 0 END)
                   - (CASE WHEN mv.to_column_id IN ({ids}) THEN {at} ELSE 0 END) AS active,
                   CASE WHEN mv.from_board_id = mv.to_board_id THEN 0 ELSE -{at} END AS wall
              FROM mv
             WHERE NOT (mv.created_at = mv.last_arrival AND mv.to_board_id = mv.last_board)
            UNION ALL
            -- Leaving a board: its row
            SELECT mv.ticket_id, mv.from_board_id,
                   CASE WHEN mv.from_column_id IN ({ids}) THEN {at} ELSE 0 END, {at}
              FROM mv
             WHERE mv.from_board_id <> mv.to_board_id
            UNION ALL
            -- The last stay: the clock the ticket banked there, and arrival to resolution.
            SELECT ticket_id, board_id, {_duration_seconds("active_time")},
                   {_epoch("resolved_at")} - {_epoch("entered_board_at")}
              FROM cohort WHERE first_from IS NOT NULL
        ), per_ticket AS (
            SELECT ticket_id, board_id, SUM(active) AS active, SUM(wall) AS wall
              FROM signed GROUP BY ticket_id, board_id
            UNION ALL
            SELECT ticket_id, board_id, {_duration_seconds("active_time")},
                   {_epoch("resolved_at")} - {_epoch("created_at")}
              FROM cohort WHERE first_from IS NULL
        )"""


DAY = 86400  # seconds

# The columns of a step on a ticket's path (``path_ctes``' ``steps``, and flow.models.RoutingStep).
STEP_COLUMNS = (
    "ticket_id, from_board_id, to_board_id, from_tier, to_tier, direction, criterion_id, created_at, bc, "
    "n, prev_from, prev_dir, prev_crit, prev_at, next_board, next_tier, next_at, "
    "round_trip, bounce, returned, came_back"
)


def path_ctes() -> str:
    """From ``touched`` (ticket ids): ``path`` every routing move of those tickets over their whole
    life (move_routing_ticket_idx), and ``steps`` (STEP_COLUMNS): each with two windows, over the
    ticket's board moves (their rank ``n``, and the previous one) and over all its routing moves
    (the next one). Ordered by time alone (the index's order): one ticket's moves are made one at
    a time under its row lock.

    And what the gauges ask of a step, as 0/1 flags (flow.gauges says why each is defined so):

    - ``round_trip``: a board move back to the board the ticket left less than 24 h before (A→B→A);
    - ``bounce``: a board move that is the ticket's third or later, or a round trip;
    - ``returned``: a de-escalation straight back to where the previous board move escalated from
      (a wasted escalation, unless that escalation was a condition's: the gauge checks its criterion);
    - ``came_back``: a criterion's move whose ticket's next routing move, within 24 h, took it back
      to the board it left (or, for a tier change on one board, back to the tier it left).
    """
    since_prev = f"{_epoch('created_at')} - {_epoch('prev_at')}"
    until_next = f"{_epoch('next_at')} - {_epoch('created_at')}"
    round_trip = f"bc = 1 AND to_board_id = prev_from AND {since_prev} <= {DAY}"
    return f"""path AS (
            SELECT p.ticket_id, p.from_board_id, p.to_board_id, p.from_tier, p.to_tier, p.direction,
                   p.criterion_id, p.created_at, CASE WHEN {_board_change_sql("p")} THEN 1 ELSE 0 END AS bc
              FROM touched t {_moves_of("t", "p", PATH_COLUMNS, _routing_sql("p"))}
        ), windowed AS (
            SELECT path.*,
                   ROW_NUMBER() OVER bw AS n, LAG(from_board_id) OVER bw AS prev_from,
                   LAG(direction) OVER bw AS prev_dir, LAG(criterion_id) OVER bw AS prev_crit,
                   LAG(created_at) OVER bw AS prev_at,
                   LEAD(to_board_id) OVER aw AS next_board, LEAD(to_tier) OVER aw AS next_tier,
                   LEAD(created_at) OVER aw AS next_at
              FROM path
            WINDOW bw AS (PARTITION BY ticket_id, bc ORDER BY created_at),
                   aw AS (PARTITION BY ticket_id ORDER BY created_at)
        ), steps AS (
            SELECT windowed.*,
                   CASE WHEN {round_trip} THEN 1 ELSE 0 END AS round_trip,
                   CASE WHEN bc = 1 AND (n >= 3 OR ({round_trip})) THEN 1 ELSE 0 END AS bounce,
                   CASE WHEN bc = 1 AND direction = 'de-escalate' AND prev_dir = 'escalate'
                             AND prev_from = to_board_id THEN 1 ELSE 0 END AS returned,
                   CASE WHEN criterion_id IS NOT NULL AND next_at IS NOT NULL AND {until_next} <= {DAY}
                             AND next_board = from_board_id AND (bc = 1 OR next_tier = from_tier)
                        THEN 1 ELSE 0 END AS came_back
              FROM windowed
        )"""


def senior_minutes_sql(step: str, *, notes: str | None = None, through: bool = False) -> str:
    """SQL: the minutes of the notes on ``step``'s ticket written between the escalation it
    returns from and the return (a wasted escalation's senior minutes). ``notes`` reads another
    set of notes than the table (the gauges' few newer ones); ``through`` counts only notes up
    to a watermark (one more parameter)."""
    source = notes or _table(Note)
    upto = " AND nt.id <= %s" if through else ""
    return f"""COALESCE((SELECT SUM(nt.minutes_worked) FROM {source} nt
                 WHERE nt.ticket_id = {step}.ticket_id AND nt.created_at >= {step}.prev_at
                   AND nt.created_at < {step}.created_at{upto}), 0)"""


def note_position_sql(condition: str) -> str:
    """Notes ``n`` matching ``condition``, with the board and tier their ticket stood at when each
    was written (its latest move at or before the note): (id, ticket_id, created_at, minutes,
    board, tier)."""
    m, n = _table(Move), _table(Note)
    if _postgres():
        position = f"""CROSS JOIN LATERAL (
                SELECT l.to_board_id, l.to_tier FROM {m} l
                 WHERE l.ticket_id = n.ticket_id AND l.created_at <= n.created_at
                 ORDER BY l.created_at DESC LIMIT 1) p"""
    else:
        position = f"""JOIN {m} p ON p.id = (
                SELECT l.id FROM {m} l WHERE l.ticket_id = n.ticket_id AND l.created_at <= n.created_at
                 ORDER BY l.created_at DESC, l.id DESC LIMIT 1)"""
    return f"""SELECT n.id, n.ticket_id, n.created_at, n.minutes_worked, p.to_board_id, p.to_tier
                 FROM {n} n {position} WHERE {condition}"""


# --- Counts per day: what whole days of a period add up to -----------------------------------

ROUTE, OPEN, RESOLVED, MINUTES = "route", "open", "resolved", "minutes"
ACTIVE, WALL = "active", "wall"
KINDS = (ROUTE, OPEN, RESOLVED, MINUTES, ACTIVE, WALL)

# Value buckets for time on a board (seconds): below 0, [0, 1), then ×1.25 a step up to ten
# years, and above. Bucket b holds BOUNDS[b - 1] <= v < BOUNDS[b] (bisect_right).
BOUNDS: list[float] = [0.0, 1.0]
while BOUNDS[-1] < 3.2e8:
    BOUNDS.append(BOUNDS[-1] * 1.25)


def bucket(value: float) -> int:
    return bisect_right(BOUNDS, value)


ROUTE_KEYS = ("from_board_id", "to_board_id", "from_tier", "to_tier", "direction", "criterion_id", "by_scheduler")


def route_groups(moves: QuerySet) -> list[dict]:
    """Routing moves counted per (ROUTE_KEYS, local day): the one grouping the gauges, the map
    and DailyCount's ``route`` rows all use."""
    return list(
        moves.annotate(
            day=TruncDate("created_at"),
            by_scheduler=ExpressionWrapper(Q(actor__isnull=True), output_field=BooleanField()),
        )
        .values(*ROUTE_KEYS, "day")
        .annotate(n=Count("*"))
        .order_by()
    )


def opening_groups(moves: QuerySet) -> list[dict]:
    """Opening moves counted per (board, local day)."""
    return list(
        moves.annotate(day=TruncDate("created_at")).values("to_board_id", "day").annotate(n=Count("*")).order_by()
    )


def resolved_groups(facts: QuerySet) -> list[dict]:
    """Resolved TicketFacts counted per (board, tier, first board, never left it, local day)."""
    return list(
        facts.filter(resolved_at__isnull=False)
        .annotate(
            day=TruncDate("resolved_at"),
            first=Coalesce("first_from", "board_id"),
            stayed=Case(When(first_from__isnull=True, then=Value(1)), default=Value(0)),
        )
        .values("board_id", "tier", "first", "stayed", "day")
        .annotate(n=Count("*"))
        .order_by()
    )


def minutes_groups(positions: QuerySet) -> list[dict]:
    """Minutes of placed notes (NotePosition) summed per (board, tier, local day)."""
    return list(
        positions.annotate(day=TruncDate("created_at"))
        .values("board_id", "tier", "day")
        .annotate(n=Sum("note__minutes_worked"))
        .order_by()
    )


def time_groups(times: QuerySet) -> dict[str, dict[tuple, int]]:
    """BoardTime rows counted per (board, value bucket, local day resolved), for each measure."""
    counts: dict[str, dict[tuple, int]] = {ACTIVE: defaultdict(int), WALL: defaultdict(int)}
    rows = times.annotate(day=TruncDate("resolved_at")).values_list("day", "board_id", "active_seconds", "wall_seconds")
    for day, board_id, active, wall in rows:
        counts[ACTIVE][(day, board_id, 0, bucket(active), 0, "", 0, False)] += 1
        counts[WALL][(day, board_id, 0, bucket(wall), 0, "", 0, False)] += 1
    return counts


def _route_key(g: dict) -> tuple:
    return (
        g["day"],
        g["from_board_id"],
        g["to_board_id"],
        g["from_tier"] or 0,
        g["to_tier"],
        g["direction"],
        g["criterion_id"] or 0,
        bool(g["by_scheduler"]),
    )


def _open_key(g: dict) -> tuple:
    return (g["day"], g["to_board_id"], 0, 0, 0, "", 0, False)


def _resolved_key(g: dict) -> tuple:
    return (g["day"], g["board_id"], g["first"], g["tier"], g["stayed"], "", 0, False)


def _minutes_key(g: dict) -> tuple:
    return (g["day"], g["board_id"], 0, g["tier"], 0, "", 0, False)


KEY_FIELDS = ("day", "board", "other_board", "tier", "other_tier", "direction", "criterion", "by_scheduler")


def _tally(groups: list[dict], key, sign: int = 1) -> dict[tuple, int]:
    counts: dict[tuple, int] = defaultdict(int)
    for g in groups:
        counts[key(g)] += sign * (g["n"] or 0)
    return counts


def _add_counts(kind: str, delta: dict[tuple, int]) -> None:
    """Add ``delta`` (key → n) to the ``kind`` rows, creating, updating or dropping rows."""
    delta = {k: n for k, n in delta.items() if n}
    if not delta:
        return
    existing = {
        tuple(getattr(row, f) for f in KEY_FIELDS): row
        for row in DailyCount.objects.filter(kind=kind, day__in={k[0] for k in delta})
    }
    new, changed, gone = [], [], []
    for key, n in delta.items():
        row = existing.get(key)
        if row is None:
            new.append(DailyCount(kind=kind, n=n, **dict(zip(KEY_FIELDS, key, strict=True))))
        elif row.n + n == 0:
            gone.append(row.pk)
        else:
            row.n += n
            changed.append(row)
    DailyCount.objects.filter(pk__in=gone).delete()
    DailyCount.objects.bulk_update(changed, ["n"], batch_size=500)
    DailyCount.objects.bulk_create(new, batch_size=500)


def _recount(kind: str, moves_through: int) -> None:
    """Count ``kind`` afresh from its source (every move <= moves_through, or every TicketFact)."""
    DailyCount.objects.filter(kind=kind).delete()
    _add_counts(kind, _source_counts(kind, Q(pk__lte=moves_through)))


def _source_counts(kind: str, moves: Q) -> dict[tuple, int]:
    if kind == ROUTE:
        return _tally(route_groups(Move.objects.filter(ROUTING_MOVE).filter(moves)), _route_key)
    if kind == OPEN:
        return _tally(opening_groups(Move.objects.filter(OPENING_MOVE).filter(moves)), _open_key)
    if kind == MINUTES:
        return _tally(minutes_groups(NotePosition.objects.all()), _minutes_key)
    if kind in (ACTIVE, WALL):
        return time_groups(BoardTime.objects.all())[kind]
    return _tally(resolved_groups(TicketFact.objects.all()), _resolved_key)


def _counts_hold(kind: str, moves_through: int) -> bool:
    """Whether the ``kind`` rows add up to their source: a deleted ticket takes its moves and
    facts with it, and its counts must go too (then they are counted afresh)."""
    total = DailyCount.objects.filter(kind=kind).aggregate(n=Sum("n"))["n"] or 0
    if kind == RESOLVED:
        return total == TicketFact.objects.filter(resolved_at__isnull=False).count()
    if kind == MINUTES:
        return total == (NotePosition.objects.aggregate(n=Sum("note__minutes_worked"))["n"] or 0)
    if kind in (ACTIVE, WALL):
        return total == BoardTime.objects.count()
    source = ROUTING_MOVE if kind == ROUTE else OPENING_MOVE
    return total == Move.objects.filter(source, pk__lte=moves_through).count()


def forget_counts(**kwargs) -> None:
    """Stop reading DailyCount until the next build counts afresh (a ticket or a note was
    deleted, or a note edited: the counts no longer add up). The page reads the raw rows meanwhile."""
    FactsState.objects.filter(pk=1).exclude(time_zone="").update(time_zone="")


def _refresh_minutes(cursor, tickets_sql: str, params: list, notes_through: int) -> None:
    """Recount the senior minutes of the wasted-escalation steps of the tickets ``tickets_sql`` selects."""
    rs = _table(RoutingStep)
    cursor.execute(
        f"UPDATE {rs} SET minutes = {senior_minutes_sql(rs, through=True)} "
        f"WHERE returned = 1 AND ticket_id IN ({tickets_sql})",
        [notes_through, *params],
    )


def note_saving(instance: Note, **kwargs) -> None:
    """Before a note is edited, remember its ticket: an admin may move it to another one."""
    if instance.pk is not None and not instance._state.adding:
        instance._flow_ticket_before = Note.objects.filter(pk=instance.pk).values_list("ticket_id", flat=True).first()


def note_edited(instance: Note, created: bool, **kwargs) -> None:
    """A note edited (in admin: its minutes, even its ticket) is placed again at once, the senior
    minutes of its tickets recounted, and the daily counts wait for the next build. A new note
    needs nothing: its id is past the watermark."""
    if created:
        return
    np_ = _table(NotePosition)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {np_} WHERE note_id = %s", [instance.pk])
        placed = note_position_sql("n.id = %s")
        cursor.execute(
            f"""INSERT INTO {np_} (note_id, ticket_id, created_at, board_id, tier)
                SELECT x.id, x.ticket_id, x.created_at, x.to_board_id, x.to_tier FROM ({placed}) x""",
            [instance.pk],
        )
    tickets = {instance.ticket_id, getattr(instance, "_flow_ticket_before", None)} - {None}
    _note_changed(tickets)


def note_deleted(instance: Note, **kwargs) -> None:
    """A note deleted (its position goes with it): recount its ticket's senior minutes, pause the counts."""
    _note_changed({instance.ticket_id})


def _note_changed(tickets: set[int]) -> None:
    through = Coverage.read().notes_through
    with connection.cursor() as cursor:
        _refresh_minutes(cursor, ", ".join("%s" for _ in tickets), list(tickets), through)
    forget_counts()


@dataclass(frozen=True)
class WholeDays:
    """The whole local days inside a period, [first, end), from ``start_at`` to ``end_at``."""

    first: date
    end: date
    start_at: datetime
    end_at: datetime

    def rows(self, kind: str) -> QuerySet:
        return DailyCount.objects.filter(kind=kind, day__gte=self.first, day__lt=self.end)


def whole_days(start: datetime, end: datetime, cover: Coverage) -> WholeDays | None:
    """The whole days of [start, end) DailyCount can answer for (None: none, or no counts yet)."""
    if not cover.built or cover.time_zone != timezone.get_current_timezone_name():
        return None
    tz = timezone.get_current_timezone()
    local = timezone.localtime(start, tz)
    first = local.date() if local.timetz().replace(tzinfo=None) == clock.min else local.date() + timedelta(days=1)
    end_day = timezone.localtime(end, tz).date()
    if first >= end_day:
        return None
    return WholeDays(
        first,
        end_day,
        timezone.make_aware(datetime.combine(first, clock.min), tz),
        timezone.make_aware(datetime.combine(end_day, clock.min), tz),
    )


def raw_moves(start: datetime, end: datetime, days: WholeDays | None, cover: Coverage) -> Q:
    """The moves of [start, end) DailyCount does not count: the ragged ends around the whole
    days, and within them the moves after the watermark."""
    if days is None:
        return Q(created_at__gte=start, created_at__lt=end)
    return (
        Q(created_at__gte=start, created_at__lt=days.start_at)
        | Q(created_at__gte=days.end_at, created_at__lt=end)
        | Q(pk__gt=cover.moves_through, created_at__gte=days.start_at, created_at__lt=days.end_at)
    )


def routing_counts(start: datetime, end: datetime, cover: Coverage, board_id: int | None = None) -> list[dict]:
    """The routing moves of [start, end) per (ROUTE_KEYS, day), leaving or reaching ``board_id``
    if given: whole days from DailyCount, the rest from the raw moves (two queries)."""
    return _once(("routing", start, end, cover, board_id), lambda: _routing_counts(start, end, cover, board_id))


def _routing_counts(start: datetime, end: datetime, cover: Coverage, board_id: int | None) -> list[dict]:
    days = whole_days(start, end, cover)
    moves = Move.objects.filter(ROUTING_MOVE).filter(raw_moves(start, end, days, cover))
    if board_id is not None:
        moves = moves.filter(Q(from_board_id=board_id) | Q(to_board_id=board_id))
    counts = _tally(route_groups(moves), _route_key)
    if days is not None:
        rows = days.rows(ROUTE)
        if board_id is not None:
            rows = rows.filter(Q(board=board_id) | Q(other_board=board_id))
        for row in rows:
            counts[tuple(getattr(row, f) for f in KEY_FIELDS)] += row.n
    return [
        {
            "day": day,
            "from_board_id": from_board,
            "to_board_id": to_board,
            "from_tier": from_tier or None,
            "to_tier": to_tier,
            "direction": direction,
            "criterion_id": criterion or None,
            "by_scheduler": by_scheduler,
            "n": n,
        }
        for (day, from_board, to_board, from_tier, to_tier, direction, criterion, by_scheduler), n in counts.items()
        if n
    ]


def opening_counts(start: datetime, end: datetime, cover: Coverage, board_id: int | None = None) -> dict[int, int]:
    """Tickets opened in [start, end) per board (two queries, as ``routing_counts``)."""
    days = whole_days(start, end, cover)
    moves = Move.objects.filter(OPENING_MOVE).filter(raw_moves(start, end, days, cover))
    if board_id is not None:
        moves = moves.filter(to_board_id=board_id)
    counts: dict[int, int] = defaultdict(int)
    for g in opening_groups(moves):
        counts[g["to_board_id"]] += g["n"]
    if days is not None:
        rows = days.rows(OPEN)
        if board_id is not None:
            rows = rows.filter(board=board_id)
        for board, n in rows.values_list("board").annotate(total=Sum("n")).order_by():
            counts[board] += n
    return dict(counts)


def resolution_counts(start: datetime, end: datetime, cover: Coverage) -> dict[tuple[int, bool, int, int], int]:
    """Tickets resolved in [start, end) (their latest ``resolved_at``), per (first board, never left
    it, board and tier resolved at), in one statement:

    - tickets with a move after the watermark (``live``), from the raw log (``cohort_cte``);
    - the others from their TicketFact: whole days through DailyCount's ``resolved`` rows, less
      what those rows hold for the live tickets, and the ragged ends row by row.
    """
    return _once(("resolutions", start, end, cover), lambda: _resolution_counts(start, end, cover))


def _resolution_counts(start: datetime, end: datetime, cover: Coverage) -> dict[tuple[int, bool, int, int], int]:
    tf, dc = _table(TicketFact), _table(DailyCount)
    period = [_param(start), _param(end)]
    ctes, params = [], []
    if cover.built:
        live, live_params = cover.live_cte()
        ctes.append(live)
        params += live_params
    ctes.append(cohort_cte(f"t.resolved_at >= %s AND t.resolved_at < %s AND {cover.is_live('t.id')}"))
    params += period
    first = "COALESCE(f.first_from, f.board_id), CASE WHEN f.first_from IS NULL THEN 1 ELSE 0 END, f.board_id, f.tier"
    parts = [
        """SELECT COALESCE(first_from, board_id) AS first, CASE WHEN first_from IS NULL THEN 1 ELSE 0 END AS stayed,
                       board_id, tier, 1 AS n FROM cohort"""
    ]
    days = whole_days(start, end, cover)
    if cover.built and days is None:
        parts.append(
            f"SELECT {first}, 1 FROM {tf} f WHERE f.resolved_at >= %s AND f.resolved_at < %s "
            f"AND {cover.is_covered('f.ticket_id')}"
        )
        params += period
    elif days is not None:
        edges = [_param(start), _param(days.start_at), _param(days.end_at), _param(end)]
        parts.append(
            f"""SELECT {first}, 1 FROM {tf} f
                 WHERE ((f.resolved_at >= %s AND f.resolved_at < %s) OR (f.resolved_at >= %s AND f.resolved_at < %s))
                   AND {cover.is_covered("f.ticket_id")}"""
        )
        params += edges
        parts.append(
            f"SELECT other_board, other_tier, board, tier, n FROM {dc} WHERE kind = %s AND day >= %s AND day < %s"
        )
        params += [
            RESOLVED,
            connection.ops.adapt_datefield_value(days.first),
            connection.ops.adapt_datefield_value(days.end),
        ]
        parts.append(
            f"SELECT {first}, -1 FROM {tf} f WHERE f.resolved_at >= %s AND f.resolved_at < %s "
            f"AND {cover.is_live('f.ticket_id')}"
        )
        params += [_param(days.start_at), _param(days.end_at)]
    union = "\n UNION ALL \n".join(parts)
    sql = f"""WITH {", ".join(ctes)}
        SELECT x.first, x.stayed, x.board_id, x.tier, SUM(x.n) FROM ({union}) x
         GROUP BY x.first, x.stayed, x.board_id, x.tier"""
    found = {}
    for first_board, stayed, board_id, tier, n in _fetch(sql, params):
        if n:
            found[(int(first_board), bool(stayed), int(board_id), int(tier))] = int(n)
    return found


def minutes_counts(start: datetime, end: datetime, cover: Coverage) -> dict[tuple[int, int], int]:
    """Minutes logged in notes written in [start, end), per the (board, tier) the ticket stood at
    when each note was written (``note_position_sql``), in one statement:

    - notes after the watermark, and notes of tickets moved since (``live``), placed from the raw moves;
    - the others from NotePosition (their minutes from the note itself): whole days through
      DailyCount's ``minutes`` rows, less what those rows hold for the notes counted live,
      and the ragged ends row by row.
    """
    n, np_, dc = _table(Note), _table(NotePosition), _table(DailyCount)
    period = [_param(start), _param(end)]
    in_period = "n.created_at >= %s AND n.created_at < %s AND n.minutes_worked > 0"
    if not cover.built:
        sql = f"""SELECT x.to_board_id, x.to_tier, SUM(x.minutes_worked) FROM ({note_position_sql(in_period)}) x
                  GROUP BY x.to_board_id, x.to_tier"""
        return {(b, t): int(minutes) for b, t, minutes in _fetch(sql, period)}
    live, params = cover.live_cte()
    nt = cover.notes_through
    parts = [
        f"SELECT to_board_id, to_tier, minutes_worked FROM ({note_position_sql(f'{in_period} AND n.id > %s')}) a",
        f"""SELECT to_board_id, to_tier, minutes_worked
              FROM ({note_position_sql(f"{in_period} AND n.id <= %s AND {cover.is_live('n.ticket_id')}")}) b""",
    ]
    params += [*period, nt, *period, nt]
    # A placed note's minutes, read from the note itself (an admin may edit them) by its primary
    # key: a few thousand probes at most, where a join may scan every note.
    minutes = f"(SELECT n.minutes_worked FROM {n} n WHERE n.id = p.note_id)"
    placed = f"FROM {np_} p WHERE 1 = 1"
    covered = f"p.note_id <= %s AND {cover.is_covered('p.ticket_id')}"
    days = whole_days(start, end, cover)
    if days is None:
        parts.append(
            f"SELECT p.board_id, p.tier, {minutes} {placed} AND p.created_at >= %s AND p.created_at < %s AND {covered}"
        )
        params += [*period, nt]
    else:
        parts.append(
            f"""SELECT p.board_id, p.tier, {minutes} {placed}
                   AND ((p.created_at >= %s AND p.created_at < %s) OR (p.created_at >= %s AND p.created_at < %s))
                   AND {covered}"""
        )
        params += [_param(start), _param(days.start_at), _param(days.end_at), _param(end), nt]
        parts.append(f"SELECT board, tier, n FROM {dc} WHERE kind = %s AND day >= %s AND day < %s")
        adapt = connection.ops.adapt_datefield_value
        params += [MINUTES, adapt(days.first), adapt(days.end)]
        # Less what those rows hold for the notes counted live above: newer notes, and (two
        # parts, each through its own index) notes of live tickets.
        for which in ("p.note_id > %s", f"p.note_id <= %s AND {cover.is_live('p.ticket_id')}"):
            parts.append(
                f"""SELECT p.board_id, p.tier, -{minutes} {placed}
                       AND p.created_at >= %s AND p.created_at < %s AND {which}"""
            )
            params += [_param(days.start_at), _param(days.end_at), nt]
    union = "\n UNION ALL \n".join(parts)
    sql = f"""WITH {live}
        SELECT x.to_board_id, x.to_tier, SUM(x.minutes_worked) FROM ({union}) x
         GROUP BY x.to_board_id, x.to_tier"""
    return {(b, t): int(minutes) for b, t, minutes in _fetch(sql, params) if minutes}


def board_time_percentiles(
    start: datetime,
    end: datetime,
    cover: Coverage,
    days: WholeDays,
    boards: list[int],
    live: list[tuple[int, float, float]],
) -> dict[int, tuple[int, float, float, float, float]] | None:
    """Time on each board for tickets resolved in [start, end): per board, (tickets, active p50,
    p90, wall p50, p90), PostgreSQL's PERCENTILE_CONT exactly, without sorting every value.
    None if the counts and the values they point at disagree (then the caller sorts them all).

    1. Count the values per bucket (BOUNDS): whole days from DailyCount's ``active`` and
       ``wall`` rows, less the live tickets' old rows in them, plus the ragged ends row by row
       and the live tickets' values (``live``: (board, active, wall), computed from the raw log).
    2. From the counts, the bucket that holds each rank a percentile needs (its two neighbours).
    3. Read only those buckets' values (through flow_boardtime_active_idx / _wall_idx), add the
       live ones, sort them, and interpolate between the two ranks as PERCENTILE_CONT does.
    Three queries.
    """
    bt = _table(BoardTime)
    counts: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = days.rows(ACTIVE).filter(board__in=boards) | days.rows(WALL).filter(board__in=boards)
    for kind, board, b, n in rows.values_list("kind", "board", "tier").annotate(total=Sum("n")).order_by():
        counts[(kind, board)][b] += n
    wanted = ", ".join(str(int(b)) for b in boards) or "NULL"
    edges = [_param(start), _param(days.start_at), _param(days.end_at), _param(end)]
    sql = f"""SELECT board_id, active_seconds, wall_seconds, 1 FROM {bt}
               WHERE board_id IN ({wanted})
                 AND ((resolved_at >= %s AND resolved_at < %s) OR (resolved_at >= %s AND resolved_at < %s))
                 AND {cover.is_covered("ticket_id")}
              UNION ALL
              SELECT board_id, active_seconds, wall_seconds, -1 FROM {bt}
               WHERE board_id IN ({wanted}) AND resolved_at >= %s AND resolved_at < %s
                 AND {cover.is_live("ticket_id")}"""
    live_cte, live_params = cover.live_cte()
    adjust = _fetch(f"WITH {live_cte} {sql}", [*live_params, *edges, _param(days.start_at), _param(days.end_at)])
    for board, active, wall, sign in [*adjust, *((b, a, w, 1) for b, a, w in live)]:
        if board in boards:
            counts[(ACTIVE, board)][bucket(active)] += sign
            counts[(WALL, board)][bucket(wall)] += sign

    # Step 2: per (measure, board), the ranks each percentile needs and the buckets holding them.
    needs: dict[tuple[str, int], dict[int, int]] = {}  # (measure, board) -> {bucket: values before it}
    sizes: dict[int, int] = {}
    for (kind, board), per_bucket in counts.items():
        n = sum(per_bucket.values())
        if n <= 0:
            continue
        sizes[board] = n
        ranks = {r for p in (0.5, 0.9) for r in (math.floor(p * (n - 1)), math.ceil(p * (n - 1)))}
        before, found = 0, {}
        for b in sorted(per_bucket):
            inside = per_bucket[b]
            if any(before <= r < before + inside for r in ranks):
                found[b] = before
            before += inside
        needs[(kind, board)] = found

    # Step 3: the values of those buckets in the period (covered rows, and the live ones).
    parts, params = [], []
    for (kind, board), found in needs.items():
        column = "active_seconds" if kind == ACTIVE else "wall_seconds"
        for b in found:
            where = [f"board_id = {int(board)}", "resolved_at >= %s", "resolved_at < %s"]
            params += [_param(start), _param(end)]
            if b > 0:
                where.append(f"{column} >= %s")
                params.append(BOUNDS[b - 1])
            if b < len(BOUNDS):
                where.append(f"{column} < %s")
                params.append(BOUNDS[b])
            parts.append(
                f"SELECT '{kind}', {int(board)}, {int(b)}, {column} FROM {bt} "
                f"WHERE {' AND '.join(where)} AND {cover.is_covered('ticket_id')}"
            )
    values: dict[tuple[str, int, int], list[float]] = defaultdict(list)
    if parts:
        for kind, board, b, value in _fetch(f"WITH {live_cte} {' UNION ALL '.join(parts)}", [*live_params, *params]):
            values[(kind, int(board), int(b))].append(float(value))
    for board, active, wall in live:
        for kind, value in ((ACTIVE, active), (WALL, wall)):
            if bucket(value) in needs.get((kind, board), {}):
                values[(kind, board, bucket(value))].append(value)

    for (kind, board), found in needs.items():
        for b in found:
            if len(values[(kind, board, b)]) != counts[(kind, board)][b]:
                log.warning("flow facts: %s counts of board %s disagree with its values; sorting them all", kind, board)
                return None

    def percentile(kind: str, board: int, p: float) -> float:
        n = sizes[board]
        rank = p * (n - 1)
        low, high = math.floor(rank), math.ceil(rank)

        def at(r: int) -> float:
            for b, before in needs[(kind, board)].items():
                inside = sorted(values[(kind, board, b)])
                if before <= r < before + len(inside):
                    return inside[r - before]
            raise AssertionError("a rank fell outside the buckets counted for it")

        first, second = at(low), at(high)
        return first + (second - first) * (rank - low)

    return {
        board: (
            n,
            percentile(ACTIVE, board, 0.5),
            percentile(ACTIVE, board, 0.9),
            percentile(WALL, board, 0.5),
            percentile(WALL, board, 0.9),
        )
        for board, n in sizes.items()
    }


# --- The builder ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    tickets: int  # tickets whose facts were (re)built
    notes: int  # notes placed
    moves_through: int
    notes_through: int
    seconds: float


def _max_ids() -> tuple[int, int]:
    with connection.cursor() as cursor:
        top = "SELECT COALESCE(MAX(id), 0) FROM {}"
        cursor.execute(f"SELECT ({top.format(_table(Move))}), ({top.format(_table(Note))})")
        moves, notes = cursor.fetchone()
    return int(moves), int(notes)


def _safe_watermarks(wait_seconds: float) -> tuple[int, int] | None:
    """Steps 1–3 of the module docstring: (M, N), or None when a writer is still running."""
    moves, notes = _max_ids()
    if not _postgres():
        return moves, notes
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_xid::text FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        )
        writers = cursor.fetchall()
        deadline = time.monotonic() + wait_seconds
        while writers:
            cursor.execute(
                "SELECT pid, backend_xid::text FROM pg_stat_activity WHERE pid = ANY(%s) AND backend_xid IS NOT NULL",
                [[pid for pid, _ in writers]],
            )
            running = set(cursor.fetchall())
            writers = [w for w in writers if w in running]
            if not writers:
                break
            if time.monotonic() > deadline:
                log.info(
                    "flow facts: %d writer(s) still running after %.0f s; not building now", len(writers), wait_seconds
                )
                return None
            time.sleep(0.05)
    return moves, notes


def build(
    now: datetime | None = None, *, full: bool = False, check: bool | None = None, wait_seconds: float = WAIT_SECONDS
) -> Built | None:
    """Bring the facts up to date; returns what it did, or None if it could not run now
    (a writer still running, or another build holding the state row).

    Must not run inside a transaction that wrote moves others should wait for
    (it runs its own). ``full`` rebuilds every ticket (after a restore, or a
    bulk load that did not bump versions). ``check`` also compares the facts
    with the log as a whole (None: when the last check is CHECK_EVERY old).
    """
    started = time.perf_counter()
    now = now or timezone.now()
    FactsState.objects.get_or_create(pk=1)
    marks = _safe_watermarks(wait_seconds)
    if marks is None:
        return None
    moves_through, notes_through = marks
    with transaction.atomic():
        state = FactsState.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if state is None:
            return None  # another build is running
        time_zone = timezone.get_current_timezone_name()
        afresh = full or not state.moves_through or state.time_zone != time_zone
        if full:
            state.moves_through = state.notes_through = 0
        before = state.moves_through
        if check is None:
            check = state.checked_at is None or now - state.checked_at >= CHECK_EVERY or now < state.checked_at
        tickets, notes, changed = _rebuild(state, moves_through, notes_through, full=full, check=check)
        if afresh:
            for kind in KINDS:
                _recount(kind, moves_through)
        else:
            newer = Q(pk__gt=before, pk__lte=moves_through)
            _add_counts(ROUTE, _source_counts(ROUTE, newer))
            _add_counts(OPEN, _source_counts(OPEN, newer))
            for kind, delta in changed.items():
                _add_counts(kind, delta)
            for kind in KINDS if check else ():
                if not _counts_hold(kind, moves_through):
                    log.info("flow facts: %s counts no longer add up (a ticket deleted?); counting afresh", kind)
                    _recount(kind, moves_through)
        if check or afresh:
            state.checked_at = now
        state.moves_through = moves_through
        state.notes_through = notes_through
        state.built_at = now
        state.time_zone = time_zone
        state.save()
    seconds = time.perf_counter() - started
    return Built(tickets, notes, moves_through, notes_through, seconds)


def _rebuild(
    state: FactsState, moves_through: int, notes_through: int, *, full: bool, check: bool
) -> tuple[int, int, dict[str, dict[tuple, int]]]:
    """Replace the facts of every ticket with a move in (state.moves_through, moves_through], or (when
    ``check``ing) whose version moved on since its facts were built, and place the notes in
    (state.notes_through, notes_through].

    Returns (tickets rebuilt, notes placed, the change to the ``resolved``, ``minutes``, ``active``
    and ``wall`` counts)."""
    m, t, n = _table(Move), _table(Ticket), _table(Note)
    tf, bt, rs, np_ = (_table(model) for model in (TicketFact, BoardTime, RoutingStep, NotePosition))
    chosen = RawSQL("SELECT ticket_id FROM flow_build_tickets", [])
    chosen_facts = TicketFact.objects.filter(ticket_id__in=chosen)
    chosen_notes = NotePosition.objects.filter(
        Q(ticket_id__in=chosen) | Q(note_id__in=RawSQL("SELECT note_id FROM flow_build_notes", []))
    )
    chosen_times = BoardTime.objects.filter(ticket_id__in=chosen)
    changed: dict[str, dict[tuple, int]] = {kind: defaultdict(int) for kind in (RESOLVED, MINUTES, ACTIVE, WALL)}

    def tally(sign: int) -> None:
        for key, count in _tally(resolved_groups(chosen_facts), _resolved_key, sign).items():
            changed[RESOLVED][key] += count
        for key, count in _tally(minutes_groups(chosen_notes), _minutes_key, sign).items():
            changed[MINUTES][key] += count
        for kind, counts in time_groups(chosen_times).items():
            for key, count in counts.items():
                changed[kind][key] += sign * count

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE flow_build_tickets (ticket_id bigint PRIMARY KEY)")
        cursor.execute("CREATE TEMPORARY TABLE flow_build_notes (note_id bigint PRIMARY KEY)")
        try:
            if full:
                cursor.execute(f"INSERT INTO flow_build_tickets SELECT id FROM {t}")
            else:
                moved_on = f"""
                        UNION
                        SELECT t.id FROM {t} t LEFT JOIN {tf} f ON f.ticket_id = t.id
                         WHERE f.ticket_id IS NULL OR f.version <> t.version"""
                cursor.execute(
                    f"""INSERT INTO flow_build_tickets
                        SELECT DISTINCT ticket_id FROM {m} WHERE id > %s AND id <= %s {moved_on if check else ""}""",
                    [state.moves_through, moves_through],
                )
            cursor.execute(
                f"INSERT INTO flow_build_notes SELECT id FROM {n} WHERE id > %s AND id <= %s "
                f"AND ticket_id NOT IN (SELECT ticket_id FROM flow_build_tickets)",
                [state.notes_through, notes_through],
            )
            if full:
                for table in (tf, bt, rs, np_):
                    cursor.execute(f"DELETE FROM {table}")
            else:
                tally(-1)
                # Facts of deleted tickets went with them (CASCADE); a ticket's old facts go here.
                for table in (tf, bt, rs, np_):
                    cursor.execute(f"DELETE FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM flow_build_tickets)")
                cursor.execute(f"DELETE FROM {np_} WHERE note_id IN (SELECT note_id FROM flow_build_notes)")
            cursor.execute("SELECT COUNT(*) FROM flow_build_tickets")
            tickets = cursor.fetchone()[0]

            where = "t.id IN (SELECT ticket_id FROM flow_build_tickets)"
            cursor.execute(
                f"""INSERT INTO {tf} (ticket_id, version, resolved_at, board_id, tier, first_from)
                    SELECT t.id, t.version, t.resolved_at, t.board_id, t.tier,
                           (SELECT b.from_board_id FROM {m} b
                             WHERE b.ticket_id = t.id AND {_board_change_sql("b")}
                             ORDER BY b.created_at LIMIT 1)
                      FROM {t} t WHERE {where}"""
            )
            cursor.execute(
                f"""INSERT INTO {bt} (ticket_id, board_id, resolved_at, active_seconds, wall_seconds)
                    WITH {cohort_cte(where)}, {board_time_ctes(running_columns())}
                    SELECT p.ticket_id, p.board_id, c.resolved_at, p.active, p.wall
                      FROM per_ticket p JOIN cohort c ON c.ticket_id = p.ticket_id"""
            )
            minutes = f"CASE WHEN returned = 1 THEN {senior_minutes_sql('steps', through=True)} ELSE 0 END"
            cursor.execute(
                f"""INSERT INTO {rs} ({STEP_COLUMNS}, minutes)
                    WITH touched AS (SELECT ticket_id FROM flow_build_tickets), {path_ctes()}
                    SELECT {STEP_COLUMNS}, {minutes} FROM steps""",
                [notes_through],
            )
            placed = note_position_sql(
                "(n.ticket_id IN (SELECT ticket_id FROM flow_build_tickets) "
                "OR n.id IN (SELECT note_id FROM flow_build_notes))"
            )
            cursor.execute(
                f"""INSERT INTO {np_} (note_id, ticket_id, created_at, board_id, tier)
                    SELECT x.id, x.ticket_id, x.created_at, x.to_board_id, x.to_tier FROM ({placed}) x"""
            )
            notes = cursor.rowcount
            # Steps of tickets not rebuilt whose new notes may fall in a wasted escalation.
            _refresh_minutes(
                cursor,
                f"SELECT ticket_id FROM {n} WHERE id IN (SELECT note_id FROM flow_build_notes)",
                [],
                notes_through,
            )
            if not full:
                tally(1)
        finally:
            cursor.execute("DROP TABLE flow_build_tickets")
            cursor.execute("DROP TABLE flow_build_notes")
    return tickets, notes, changed
