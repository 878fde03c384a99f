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

On SQLite (a laptop, one writer at a time) step 2 has nothing to ask; the
builder also rebuilds every ticket whose ``version`` no longer matches its
facts (a move always bumps it), which heals anything a watermark missed.

Ids, not times: ``created_at`` is the caller's ``now`` (a sweep's batch start,
a backdated import), so it says nothing about commit order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from boards.models import Column, Note, Ticket
from routing.models import Move

from .models import BoardTime, FactsState, NotePosition, RoutingStep, TicketFact
from .sql import (
    PATH_COLUMNS,
    TIMELINE_COLUMNS,
    _board_change_sql,
    _duration_seconds,
    _epoch,
    _moves_of,
    _postgres,
    _routing_sql,
    _table,
)

log = logging.getLogger(__name__)

WAIT_SECONDS = 10.0  # how long a build waits for in-flight writers before giving up (step 3)


# --- Which tickets are covered ---------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How far the facts go, read once per request (one query)."""

    moves_through: int = 0
    notes_through: int = 0
    built_at: datetime | None = None

    @property
    def built(self) -> bool:
        return self.built_at is not None

    @classmethod
    def read(cls) -> Coverage:
        state = FactsState.objects.filter(pk=1).values_list("moves_through", "notes_through", "built_at").first()
        return cls(*state) if state else cls()

    def live_cte(self) -> tuple[str, list]:
        """``live``: the tickets with a move after the watermark (through the primary key, a handful)."""
        return f"live AS (SELECT DISTINCT ticket_id FROM {_table(Move)} WHERE id > %s)", [self.moves_through]

    def is_live(self, column: str) -> str:
        """SQL: this ticket must be computed from the raw moves (every ticket before the first build)."""
        return f"{column} IN (SELECT ticket_id FROM live)" if self.built else "1 = 1"

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


# The columns of a step on a ticket's path (``path_ctes``' ``w``, and flow.models.RoutingStep).
STEP_COLUMNS = (
    "ticket_id, from_board_id, to_board_id, from_tier, to_tier, direction, criterion_id, created_at, bc, "
    "n, prev_from, prev_dir, prev_crit, prev_at, next_board, next_tier, next_at"
)


def path_ctes() -> str:
    """From ``touched`` (ticket ids): ``path`` every routing move of those tickets over their whole
    life (move_routing_ticket_idx), and ``steps`` (STEP_COLUMNS): each with two windows, over the
    ticket's board moves (their rank ``n``, and the previous one) and over all its routing moves
    (the next one). Ordered by time alone (the index's order): one ticket's moves are made one at
    a time under its row lock."""
    return f"""path AS (
            SELECT p.ticket_id, p.from_board_id, p.to_board_id, p.from_tier, p.to_tier, p.direction,
                   p.criterion_id, p.created_at, CASE WHEN {_board_change_sql("p")} THEN 1 ELSE 0 END AS bc
              FROM touched t {_moves_of("t", "p", PATH_COLUMNS, _routing_sql("p"))}
        ), steps AS (
            SELECT path.*,
                   ROW_NUMBER() OVER bw AS n, LAG(from_board_id) OVER bw AS prev_from,
                   LAG(direction) OVER bw AS prev_dir, LAG(criterion_id) OVER bw AS prev_crit,
                   LAG(created_at) OVER bw AS prev_at,
                   LEAD(to_board_id) OVER aw AS next_board, LEAD(to_tier) OVER aw AS next_tier,
                   LEAD(created_at) OVER aw AS next_at
              FROM path
            WINDOW bw AS (PARTITION BY ticket_id, bc ORDER BY created_at),
                   aw AS (PARTITION BY ticket_id ORDER BY created_at)
        )"""


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


def build(now: datetime | None = None, *, full: bool = False, wait_seconds: float = WAIT_SECONDS) -> Built | None:
    """Bring the facts up to date; returns what it did, or None if it could not run now
    (a writer still running, or another build holding the state row).

    Must not run inside a transaction that wrote moves others should wait for
    (it runs its own). ``full`` rebuilds every ticket (after a restore, or a
    bulk load that did not bump versions).
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
        if full:
            state.moves_through = state.notes_through = 0
        tickets, notes = _rebuild(state, moves_through, notes_through, full=full)
        state.moves_through = moves_through
        state.notes_through = notes_through
        state.built_at = now
        state.save()
    seconds = time.perf_counter() - started
    return Built(tickets, notes, moves_through, notes_through, seconds)


def _rebuild(state: FactsState, moves_through: int, notes_through: int, *, full: bool) -> tuple[int, int]:
    """Replace the facts of every ticket with a move in (state.moves_through, moves_through], or whose
    version moved on since its facts were built, and place the notes in (state.notes_through, notes_through]."""
    m, t, n = _table(Move), _table(Ticket), _table(Note)
    tf, bt, rs, np_ = (_table(model) for model in (TicketFact, BoardTime, RoutingStep, NotePosition))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE flow_build_tickets (ticket_id bigint PRIMARY KEY)")
        cursor.execute("CREATE TEMPORARY TABLE flow_build_notes (note_id bigint PRIMARY KEY)")
        try:
            if full:
                cursor.execute(f"INSERT INTO flow_build_tickets SELECT id FROM {t}")
                for table in (tf, bt, rs, np_):
                    cursor.execute(f"DELETE FROM {table}")
            else:
                cursor.execute(
                    f"""INSERT INTO flow_build_tickets
                        SELECT DISTINCT ticket_id FROM {m} WHERE id > %s AND id <= %s
                        UNION
                        SELECT t.id FROM {t} t LEFT JOIN {tf} f ON f.ticket_id = t.id
                         WHERE f.ticket_id IS NULL OR f.version <> t.version""",
                    [state.moves_through, moves_through],
                )
                # Facts of deleted tickets went with them (CASCADE); a ticket's old facts go here.
                for table in (tf, bt, rs, np_):
                    cursor.execute(f"DELETE FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM flow_build_tickets)")
            cursor.execute(
                f"INSERT INTO flow_build_notes SELECT id FROM {n} WHERE id > %s AND id <= %s "
                f"AND ticket_id NOT IN (SELECT ticket_id FROM flow_build_tickets)",
                [state.notes_through, notes_through],
            )
            cursor.execute(f"DELETE FROM {np_} WHERE note_id IN (SELECT note_id FROM flow_build_notes)")
            cursor.execute("SELECT COUNT(*) FROM flow_build_tickets")
            tickets = cursor.fetchone()[0]

            chosen = "t.id IN (SELECT ticket_id FROM flow_build_tickets)"
            cursor.execute(
                f"""INSERT INTO {tf} (ticket_id, version, resolved_at, board_id, tier, first_from)
                    SELECT t.id, t.version, t.resolved_at, t.board_id, t.tier,
                           (SELECT b.from_board_id FROM {m} b
                             WHERE b.ticket_id = t.id AND {_board_change_sql("b")}
                             ORDER BY b.created_at LIMIT 1)
                      FROM {t} t WHERE {chosen}"""
            )
            cursor.execute(
                f"""INSERT INTO {bt} (ticket_id, board_id, resolved_at, active_seconds, wall_seconds)
                    WITH {cohort_cte(chosen)}, {board_time_ctes(running_columns())}
                    SELECT p.ticket_id, p.board_id, c.resolved_at, p.active, p.wall
                      FROM per_ticket p JOIN cohort c ON c.ticket_id = p.ticket_id"""
            )
            cursor.execute(
                f"""INSERT INTO {rs} ({STEP_COLUMNS})
                    WITH touched AS (SELECT ticket_id FROM flow_build_tickets), {path_ctes()}
                    SELECT {STEP_COLUMNS} FROM steps"""
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
        finally:
            cursor.execute("DROP TABLE flow_build_tickets")
            cursor.execute("DROP TABLE flow_build_notes")
    return tickets, notes
