"""The gauges: figures about the flow of tickets over a period, from the Move log.

``compute(query, now)`` returns what ``templates/flow/_gauges.html`` renders,
``csv_rows(name, query, now)`` one gauge's table as (header, rows), and
``headline(now)`` the few figures the manager's home shows for the last 7 days.

Words used in every definition below
------------------------------------
- The *period* is ``[query.start, query.end)``. A move is *in the period* when
  its ``created_at`` is; moves before or after it never count, except where a
  gauge says it looks at a ticket's whole path (e.g. "third move between boards").
- A *routing move* changes a ticket's board or its tier (escalations,
  de-escalations, transfers, tier changes). Column moves on one board and the
  opening move are not routing moves. A *board move* is a routing move that
  changes the board.
- *Who moved*: **condition** when the move's criterion has the ``condition``
  trigger (a ticket fact made it true, whether it fired when someone saved the
  fact, an integration opened the ticket, or a technician picked it by hand);
  otherwise **scheduler** when the move has no actor (only the sweep moves with
  a criterion and no person), and **person** when it has one (a manual
  criterion, or a tier changed by hand).
- *Active time* is the clock of ``routing.services``: time in ``new``/``active``
  columns (``Column.CLOCK_RUNS``); ``waiting`` and ``done`` pause it.
- The *board filter* keeps moves that leave or reach the board, and tickets on
  it (see each gauge for which board a ticket is counted on).

Every gauge is a fixed number of queries whatever the size of the log, grouped
in the database (PERCENTILE_CONT on PostgreSQL; on SQLite the percentiles are
taken in Python from per-ticket values, which is fine for a laptop's data).

Where the figures come from: the gauges that need each ticket's whole history
(time on each board, first-board resolution, bounces, wasted escalations, came
back, minutes per board and tier) and the period's counts read the facts that
``flow.facts`` keeps from the Move log outside the request — per-ticket rows,
and daily counts for a period's whole days. Whatever the facts do not cover
(tickets moved after the last build, notes written since, the period's ragged
ends) is computed here from the raw log by the very same SQL, so every figure
is exact however old the facts are; the page says how old they are
(``freshness``).

What it costs (bench/flow.py: 100k tickets, 1.07M moves over 90 days, on a
2-core box shared with other work): before the facts, ``compute`` took about
1.1 s for 30 days and 2.8 s for 90; through them, roughly 0.1–0.2 s and
0.15–0.3 s, most of it the percentiles of time on each board (a sort of every
resolved ticket's time per board) and the bounces (every bouncing move of the
period, grouped per ticket).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from boards.models import Board, Column, Note, Technician, Ticket
from routing.models import PRIORITY_LIMIT_FIELDS, ROUTING_MOVE, Criterion, Direction, Move

from .facts import (
    Coverage,
    board_time_ctes,
    board_time_percentiles,
    cohort_cte,
    minutes_counts,
    path_ctes,
    resolution_counts,
    routing_counts,
    senior_minutes_sql,
    shared_reads,
    whole_days,
)
from .models import BoardTime, RoutingStep
from .period import FlowQuery
from .sql import _datetime_converter, _fetch, _param, _postgres, _routing_sql, _table

DAY = 86400  # seconds
STALE_LIST = 20  # idle tickets listed (the count covers all of them)
OLDEST_PER_BOARD = 5
TICKET_LIST = 10  # tickets listed under wasted escalations and bounces (the CSV has all)

# A routing move changes board or tier. Written exactly as the partial indexes
# move_routing_time_idx / move_routing_ticket_idx spell it (routing/models.py),
# so PostgreSQL can prove a query's WHERE implies the index predicate.
ROUTING = ROUTING_MOVE


WHO = ("scheduler", "condition", "person")
WHO_LABEL = {"scheduler": "the scheduler", "condition": "a condition", "person": "a person"}
DIRECTIONS = (Direction.ESCALATE, Direction.DE_ESCALATE, Direction.TRANSFER)


# --- Small helpers -------------------------------------------------------------


@contextmanager
def read_only_fast():
    """One transaction for all of a page's reads, with PostgreSQL's JIT off inside it.

    Inside it the map and the gauges share what both read (``flow.facts.shared_reads``).
    The gauges' queries are short, but their cost estimates (row counts the
    planner cannot guess for the partial conditions) pass jit_above_cost, and
    compiling them took longer than running them (~50 ms per query, measured
    by bench/flow.py). SET LOCAL ends with the transaction.
    """
    with transaction.atomic(), shared_reads():
        if _postgres():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                # Room to group a month of per-ticket times in memory rather than on disk.
                cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's PERCENTILE_CONT: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def minutes_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def share_text(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


@dataclass(frozen=True)
class Link:
    text: str
    url: str

    def __str__(self) -> str:
        return self.text


def _ticket_link(pk: int) -> Link:
    return Link(f"#{pk}", reverse("ticket", args=[pk]))


@dataclass
class Table:
    """One gauge as a table: what the page shows and what its CSV holds."""

    name: str  # the CSV's name in /flow/gauges/<name>.csv
    title: str
    definition: str
    header: list[str]
    rows: list[list] = field(default_factory=list)  # shown: str, int or Link cells
    csv: list[list] = field(default_factory=list)  # downloaded: raw numbers (minutes, shares 0..1)
    empty: str = "Nothing in this period."
    total: list | None = None  # an optional totals row, shown and downloaded
    count: int | None = None  # how many rows there are in all, when the page shows only the first few
    text_columns: int = 1  # leading columns of words (left-aligned); the rest are figures

    @property
    def more(self) -> bool:
        return self.count is not None and self.count > len(self.rows)


# --- The shared reads -----------------------------------------------------------


class _Reads:
    """Everything the gauges read, each query at most once per request."""

    def __init__(self, query: FlowQuery, now: datetime, detail_limit: int | None = TICKET_LIST):
        self.query = query
        self.now = now
        # Tickets read for the wasted and bounce lists (None: all, for the CSV); the counts cover all.
        self.detail_limit = detail_limit
        self.start, self.end = query.start, query.end
        self.board_id = query.board.pk if query.board is not None else None

    @cached_property
    def boards(self) -> dict[int, Board]:
        return {b.pk: b for b in Board.objects.all()}

    @cached_property
    def criteria(self) -> dict[int, Criterion]:
        return {c.pk: c for c in Criterion.objects.order_by("position", "pk")}

    @cached_property
    def coverage(self) -> Coverage:
        """How far the precomputed facts go (flow.facts): one query per request."""
        return Coverage.read()

    @cached_property
    def running_columns(self) -> list[int]:
        return [c.pk for c in Column.objects.all() if c.clock_runs]

    def board_name(self, pk: int | None) -> str:
        board = self.boards.get(pk)
        return board.name if board else "–"

    @cached_property
    def routing_groups(self) -> list[dict]:
        """The period's routing moves, counted per (boards, tiers, direction, criterion, who, day).

        Whole days from the daily counts, the rest from the raw moves
        (``flow.facts.routing_counts``); the matrix, the criteria table, the
        breach rates, the daily chart and the headline are all sums of it.
        """
        groups = routing_counts(self.start, self.end, self.coverage, self.board_id)
        return [{**g, "who": self.who(g["criterion_id"], g["by_scheduler"])} for g in groups]

    def who(self, criterion_id: int | None, by_scheduler: bool) -> str:
        """Who moved: a condition criterion's move is "condition" whoever saved the fact that made
        it true (a technician, or an integration with no actor); otherwise no actor is the
        scheduler and an actor is a person."""
        criterion = self.criteria.get(criterion_id)
        if criterion is not None and criterion.trigger == Criterion.Trigger.CONDITION:
            return "condition"
        return "scheduler" if by_scheduler else "person"

    @cached_property
    def cohort(self) -> dict:
        """Tickets resolved in the period: first-board resolution counts and resolutions per
        (board, tier) (``flow.facts.resolution_counts``), and the time-on-board figures (``_times_sql``)."""
        first_board: dict[tuple[int, bool], int] = defaultdict(int)
        resolved_at: dict[tuple[int, int], int] = defaultdict(int)
        for (first, stayed, board_id, tier), n in resolution_counts(self.start, self.end, self.coverage).items():
            first_board[(first, stayed)] += n
            resolved_at[(board_id, tier)] += n
        return {"first_board": first_board, "resolved_at": resolved_at, "times": self._times()}

    def _times(self) -> dict[int, tuple]:
        """Per board: (tickets, active p50, p90, wall p50, p90). Through the daily value counts
        when they answer the period's whole days (``flow.facts.board_time_percentiles``),
        otherwise by sorting every value (``_times_sql``)."""
        days = whole_days(self.start, self.end, self.coverage)
        if days is not None:
            boards = [self.board_id] if self.board_id is not None else list(self.boards)
            sql, params = _times_sql(self, live_only=True)
            live = [(int(b), float(active), float(wall)) for b, active, wall in _fetch(sql, params)]
            found = board_time_percentiles(self.start, self.end, self.coverage, days, boards, live)
            if found is not None:
                return found
        sql, params = _times_sql(self)
        times: dict[int, tuple] = {}
        raw: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for board_id, n, a, b, _c, _d in _fetch(sql, params):
            if _postgres():
                (active_50, active_90), (wall_50, wall_90) = a, b
                times[int(board_id)] = (int(n), float(active_50), float(active_90), float(wall_50), float(wall_90))
            else:
                raw[int(board_id)][0].append(float(a))
                raw[int(board_id)][1].append(float(b))
        for pk, (active, wall) in raw.items():
            times[pk] = (
                len(active),
                percentile_cont(active, 0.5),
                percentile_cont(active, 0.9),
                percentile_cont(wall, 0.5),
                percentile_cont(wall, 0.9),
            )
        return times

    @cached_property
    def paths(self) -> dict:
        """Bounces, wasted escalations and came-back counts, from one pass over the paths
        (routing moves, in order) of the tickets that made a routing move in the period."""
        sql, params = _paths_sql(self)
        convert = _datetime_converter()
        bounces, wasted, came_back = [], [], {}
        totals = {"B": (0, 0, 0), "W": (0, 0, 0)}
        for kind, pk, i1, i2, i3, i4, i5, t1, t2 in _fetch(sql, params):
            if kind == "c":
                came_back[pk] = int(i1)
            elif kind in totals:
                totals[kind] = (int(i1), int(i2 or 0), int(i5 or 0))
            elif kind == "b":
                bounces.append(Bounce(pk, int(i1), bool(i2), convert(t1)))
            else:
                wasted.append(Wasted(pk, i1, i2, convert(t1), i3, convert(t2), i4, int(i5)))
        return {
            "bounces": bounces,
            "wasted": wasted,
            "came_back": came_back,
            "bounce_count": totals["B"][0],
            "round_trips": totals["B"][1],
            "wasted_count": totals["W"][0],
            "wasted_minutes": totals["W"][2],
        }


def _times_sql(reads: _Reads, *, live_only: bool = False) -> tuple[str, list]:
    """Time on each board of the tickets resolved in the period, in one statement: per (ticket,
    board), see ``flow.facts.board_time_ctes``. Tickets the facts cover are read from
    flow_boardtime; the others (``live``) go through the same definitions over their raw moves.

    On PostgreSQL the percentiles are taken here, board by board (each through
    flow_boardtime_board_idx, so no sort by board first; one sort per measure
    gives both percentiles): (board, tickets, active p50, p90, wall p50, p90).
    SQLite returns the values: (board, NULL, active, wall, NULL, NULL).
    """
    cover = reads.coverage
    bt = _table(BoardTime)
    period = [_param(reads.start), _param(reads.end)]
    ctes, params = [], []
    if cover.built:
        live, live_params = cover.live_cte()
        ctes.append(live)
        params += live_params
    ctes.append(cohort_cte(f"t.resolved_at >= %s AND t.resolved_at < %s AND {cover.is_live('t.id')}"))
    params += period
    ctes.append(board_time_ctes(reads.running_columns))
    if live_only:  # (board, active, wall) of the live tickets alone
        return f"WITH {', '.join(ctes)} SELECT board_id, active, wall FROM per_ticket", params
    boards = [reads.board_id] if reads.board_id is not None else list(reads.boards)

    def times(board_id: int) -> str:
        """One board's (active, wall) per ticket: the live ones, and the facts of the others."""
        params.extend([board_id, *period, board_id])
        return f"""SELECT active, wall FROM per_ticket WHERE board_id = %s
                   UNION ALL
                   SELECT b.active_seconds, b.wall_seconds FROM {bt} b
                    WHERE b.resolved_at >= %s AND b.resolved_at < %s AND b.board_id = %s
                      AND {cover.is_covered("b.ticket_id")}"""

    if _postgres():
        selects = [
            f"""SELECT {int(board_id)}, COUNT(*),
                       PERCENTILE_CONT(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY active),
                       PERCENTILE_CONT(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY wall), NULL, NULL
                  FROM ({times(board_id)}) x HAVING COUNT(*) > 0"""
            for board_id in boards
        ]
    else:
        selects = [
            f"SELECT {int(board_id)}, NULL, active, wall, NULL, NULL FROM ({times(board_id)}) x" for board_id in boards
        ]
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}", params


def _paths_sql(reads: _Reads) -> tuple[str, list]:
    """One statement over the steps (routing moves, with their neighbours and flags: see
    ``flow.facts.path_ctes``) made in the period.

    Tickets the facts cover are read from flow_routingstep, each gauge through
    the partial index of its flag; the others (``live``) go through the same
    definition over their raw moves. Rows tagged:

    - ``b``: a bouncing ticket (see ``bounces_found``), the latest first; ``B`` their count
      and how many went A→B→A within a day;
    - ``w``: a wasted escalation (see ``wasted_escalations``), with the minutes of the
      ticket's notes written between the escalation and the return; ``W`` their count
      and minutes;
    - ``c``: per criterion, its moves that came straight back (see ``came_back``).
    """
    cover = reads.coverage
    n, rs = _table(Note), _table(RoutingStep)
    window = [_param(reads.start), _param(reads.end)]
    board, board_params = "", []
    if reads.board_id is not None:
        board = "AND (x.from_board_id = %s OR x.to_board_id = %s)"
        board_params = [reads.board_id, reads.board_id]
    ctes, params = [], []
    if cover.built:
        live, live_params = cover.live_cte()
        ctes.append(live)
        params += live_params
    ctes.append(
        f"""touched AS (
            SELECT DISTINCT r.ticket_id FROM {_table(Move)} r
             WHERE {_routing_sql("r")} AND r.created_at >= %s AND r.created_at < %s AND {cover.is_live("r.ticket_id")}
        )"""
    )
    params += window
    ctes.append(path_ctes())

    def flagged(flag: str, columns: str, covered_columns: str | None = None) -> str:
        """The period's steps carrying ``flag``: the live ones, and the facts of the others."""
        params.extend([*window, *board_params, *window, *board_params])
        period = f"x.{flag} = 1 AND x.created_at >= %s AND x.created_at < %s {board}"
        return f"""SELECT {columns} FROM steps x WHERE {period}
                   UNION ALL
                   SELECT {covered_columns or columns} FROM {rs} x
                    WHERE {period} AND {cover.is_covered("x.ticket_id")}"""

    conditions = [pk for pk, c in reads.criteria.items() if c.trigger == Criterion.Trigger.CONDITION]
    by_condition = f"x.prev_crit IN ({', '.join(str(pk) for pk in conditions)})" if conditions else "1 = 0"
    wasted_columns = "x.ticket_id, x.to_board_id, x.from_board_id, x.prev_crit, x.criterion_id, x.prev_at, x.created_at"
    # The senior minutes: a live step sums its ticket's notes; a step from the facts carries the
    # notes up to the watermark and adds the few written since (``fresh``).
    live_minutes = f"{wasted_columns}, {senior_minutes_sql('x')} AS minutes"
    covered_minutes = f"{wasted_columns}, x.minutes AS minutes"
    if cover.built:
        covered_minutes = f"{wasted_columns}, x.minutes + {senior_minutes_sql('x', notes='fresh')} AS minutes"
        ctes.append(f"fresh AS (SELECT id, ticket_id, created_at, minutes_worked FROM {n} WHERE id > %s)")
        params.append(cover.notes_through)
    ctes.append(
        f"""bounced AS (
            SELECT ticket_id, MAX(n) AS n, MAX(round_trip) AS rt, MAX(created_at) AS at
              FROM ({flagged("bounce", "x.ticket_id, x.n, x.round_trip, x.created_at")}) b
             GROUP BY ticket_id
        ), wasted AS (
            SELECT x.* FROM ({flagged("returned", live_minutes, covered_minutes)}) x
             WHERE NOT (x.prev_crit IS NOT NULL AND {by_condition})
        )"""
    )
    limit = "" if reads.detail_limit is None else f"LIMIT {int(reads.detail_limit)}"
    sql = f"""
        WITH {", ".join(ctes)}
        -- First the one select with every column typed: PostgreSQL types a UNION's columns from the left.
        SELECT 'w', w.ticket_id, w.to_board_id, w.from_board_id, w.prev_crit, w.criterion_id, w.minutes,
               w.prev_at, w.created_at
          FROM (SELECT * FROM wasted ORDER BY created_at DESC, ticket_id {limit}) w
        UNION ALL
        SELECT 'b', b.ticket_id, b.n, b.rt, NULL, NULL, NULL, b.at, NULL
          FROM (SELECT * FROM bounced ORDER BY at DESC, ticket_id {limit}) b
        UNION ALL
        SELECT 'B', NULL, COUNT(*), SUM(rt), NULL, NULL, NULL, NULL, NULL FROM bounced
        UNION ALL
        SELECT 'W', NULL, COUNT(*), NULL, NULL, NULL, SUM(minutes), NULL, NULL FROM wasted
        UNION ALL
        SELECT 'c', c.criterion_id, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL
          FROM ({flagged("came_back", "x.criterion_id")}) c
         GROUP BY c.criterion_id
    """
    return sql, params


# --- 1. The from→to matrix -----------------------------------------------------------


def matrix(reads: _Reads) -> Table:
    """Moves between boards in the period, per (from board, to board), split by direction and by who moved.

    Counts board moves (the board changed) whose ``created_at`` is in the
    period; tier changes on one board are not in the matrix (they are in the
    criteria table). With a board filter, moves that leave or reach the board.
    """
    cells: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in reads.routing_groups:
        if g["from_board_id"] == g["to_board_id"]:
            continue
        cell = cells[(g["from_board_id"], g["to_board_id"])]
        cell["total"] += g["n"]
        cell[g["direction"] or "none"] += g["n"]
        cell[g["who"]] += g["n"]
    keys = ["total", *DIRECTIONS, *WHO]
    table = Table(
        name="matrix",
        text_columns=2,
        title="Moves between boards",
        definition="Every move in the period that changed a ticket's board, from where to where, by direction "
        "and by who moved it: the scheduler (a time limit), a condition (a ticket fact), or a person.",
        header=[
            "From",
            "To",
            "Moves",
            "Escalations",
            "De-escalations",
            "Transfers",
            "By scheduler",
            "By condition",
            "By a person",
        ],
        empty="No ticket changed board in this period.",
    )
    order = {pk: i for i, pk in enumerate(reads.boards)}
    totals = defaultdict(int)
    for (src, dst), cell in sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 0), order.get(kv[0][1], 0))):
        values = [cell.get(k, 0) for k in keys]
        for k, v in zip(keys, values, strict=True):
            totals[k] += v
        names = [reads.board_name(src), reads.board_name(dst)]
        table.rows.append([*names, *values])
        table.csv.append([*names, *values])
    if table.rows:
        table.total = ["All", "", *(totals[k] for k in keys)]
    return table


# --- 2. Per criterion ---------------------------------------------------------------


def came_back(reads: _Reads) -> dict[int, int]:
    """Per criterion: its moves in the period after which the ticket's *next* routing move,
    within 24 hours, took it back to the board it left (board moves) or, for a
    tier change on one board, back to the tier it left. The next move may fall
    after the period's end (up to 24 h later); it is looked for up to now.
    """
    return reads.paths["came_back"]


def criteria(reads: _Reads) -> Table:
    """Per criterion: moves it made in the period, its share of all routing moves, and how
    often the ticket came straight back within 24 h (see ``came_back``).

    Routing moves with no criterion (a tier changed by hand) get their own row,
    so the shares add up to 100 %.
    """
    fired: dict[int | None, int] = defaultdict(int)
    for g in reads.routing_groups:
        fired[g["criterion_id"]] += g["n"]
    total = sum(fired.values())
    back = came_back(reads) if total else {}
    table = Table(
        name="criteria",
        text_columns=3,
        title="Per criterion",
        definition="How many routing moves (board or tier changed) each criterion made in the period, its share "
        "of all of them, and how many of its tickets came straight back — their next move, within 24 hours, "
        "returned them to the board (or tier) they had left.",
        header=[
            "Criterion",
            "Trigger",
            "Direction",
            "Moves",
            "Share of all moves",
            "Came back within 24 h",
            "Came back share",
        ],
        empty="No ticket changed board or tier in this period.",
    )
    order = list(reads.criteria)
    for pk in sorted(fired, key=lambda pk: (pk is None, order.index(pk) if pk in reads.criteria else 0)):
        n = fired[pk]
        c = reads.criteria.get(pk)
        name = c.name if c else "No criterion (tier changed by hand)"
        trigger = c.get_trigger_display().split(" — ")[0] if c else "By hand"
        direction = c.get_direction_display() if c else ""
        returned = back.get(pk, 0)
        share, back_share = _share(n, total), _share(returned, n)
        table.rows.append([name, trigger, direction, n, share_text(share), returned, share_text(back_share)])
        table.csv.append([name, trigger, direction, n, round(share, 4), returned, round(back_share, 4)])
    if total:
        returned = sum(back.values())
        table.total = ["All", "", "", total, "100 %", returned, share_text(_share(returned, total))]
    return table


# --- 3. First-board resolution ----------------------------------------------------------


def first_board(reads: _Reads) -> Table:
    """Share of the tickets resolved in the period that were resolved without ever leaving the
    board they were opened on, per opening board.

    Counted over tickets whose (latest) ``resolved_at`` is in the period; a
    ticket that went A→B→A and was resolved on A did leave, so it does not
    count as a first-board resolution. Tickets still open at the end are not in
    it. With a board filter: tickets opened on that board.
    """
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (first, stayed), n in reads.cohort["first_board"].items():
        per[first][0] += n
        per[first][1] += n if stayed else 0
    if reads.board_id is not None:
        per = {k: v for k, v in per.items() if k == reads.board_id}
    table = Table(
        name="first-board",
        title="First-board resolution",
        definition="Of the tickets resolved in the period, the share resolved on the board they were opened on "
        "without ever leaving it, by the board they were opened on.",
        header=["Opened on", "Resolved", "Without leaving", "First-board resolution"],
        empty="No ticket was resolved in this period.",
    )
    for pk in [pk for pk in reads.boards if pk in per]:
        resolved, stayed = per[pk]
        share = _share(stayed, resolved)
        table.rows.append([reads.board_name(pk), resolved, stayed, share_text(share)])
        table.csv.append([reads.board_name(pk), resolved, stayed, round(share, 4)])
    resolved, stayed = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    if resolved:
        table.total = ["All", resolved, stayed, share_text(_share(stayed, resolved))]
    return table


def first_board_share(reads: _Reads) -> float | None:
    counts = reads.cohort["first_board"]
    return _share(sum(n for (_b, stayed), n in counts.items() if stayed), sum(counts.values()))


# --- 4. Time on each board --------------------------------------------------------------


def time_on_board_figures(reads: _Reads) -> dict[int, tuple[int, float, float, float, float]]:
    """Per board: (tickets, active median, active p90, wall median, wall p90), in seconds."""
    return reads.cohort["times"]


def open_at_end(reads: _Reads) -> int:
    """Tickets opened before the end of the period and not resolved by it (on the board filter's board now)."""
    tickets = Ticket.objects.filter(created_at__lt=reads.end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=reads.end)
    )
    if reads.board_id is not None:
        tickets = tickets.filter(board_id=reads.board_id)
    return tickets.count()


def time_on_board(reads: _Reads) -> Table:
    """Median and 90th percentile of the time a ticket spent on each board, active and wall.

    Over the tickets resolved in the period (their whole life, moves before
    the period included); one value per ticket and board, adding up its visits
    when it came back to a board. Active time counts only ``new``/``active``
    columns, as the clock does; wall time runs from arriving to leaving (the
    last board is left at resolution). Tickets still open at the end of the
    period are left out: their time is not over yet (``open_at_end`` says how many).
    """
    figures = time_on_board_figures(reads)
    still_open = open_at_end(reads)
    table = Table(
        name="time-on-board",
        title="Time on each board",
        definition="For the tickets resolved in the period, the time each spent on each board: active time "
        "(new and in-progress columns; waiting pauses it, as the clock does) and wall time (arrival to departure, "
        f"or to resolution). {still_open} tickets still open at the end of the period are not counted.",
        header=["Board", "Tickets", "Active median", "Active 90th pct", "Wall median", "Wall 90th pct"],
        empty="No ticket was resolved in this period.",
    )
    for pk in [pk for pk in reads.boards if pk in figures]:
        n, *seconds = figures[pk]
        table.rows.append([reads.board_name(pk), n, *(minutes_text(s) for s in seconds)])
        table.csv.append([reads.board_name(pk), n, *(_minutes(s) for s in seconds)])
    table.header_csv = [
        "Board",
        "Tickets",
        "Active median (min)",
        "Active p90 (min)",
        "Wall median (min)",
        "Wall p90 (min)",
    ]
    return table


# --- 5. Wasted escalations ----------------------------------------------------------------


@dataclass(frozen=True)
class Wasted:
    ticket_id: int
    from_board_id: int  # escalated from, and came back to
    to_board_id: int  # escalated to
    escalated_at: datetime
    escalated_by: int | None
    back_at: datetime
    back_by: int | None
    minutes: int = 0


def wasted_escalations(reads: _Reads) -> list[Wasted]:
    """Escalations that bought nothing: a board move A→B that escalated, whose ticket's next
    board move was a de-escalation straight back to A, made in the period.

    An escalation fired by a *condition* criterion (needs onsite, a missing
    skill) is never wasted: the fact justified it and coming back once the
    onsite part is done is the plan working (the seed's "Onsite complete"). A
    time limit or a person that sends a ticket up only for it to come back
    down ("User error discovered") is. Counted when the de-escalation is in the
    period (the escalation may be older). The minutes are those of notes on the
    ticket written while it was on B, the senior board: between the escalation
    and the de-escalation. Returns the latest ``reads.detail_limit`` of them
    (all for a CSV); ``reads.paths`` has the count and the minutes of all.
    """
    return reads.paths["wasted"]


def wasted(reads: _Reads, found: list[Wasted] | None = None) -> Table:
    found = wasted_escalations(reads) if found is None else found
    table = Table(
        name="wasted",
        text_columns=7,
        title="Wasted escalations",
        definition="Escalations by a time limit or by hand whose ticket came straight back down to the board it "
        "was escalated from (its next move between boards), counted when it came back in this period; with the "
        "minutes logged on the ticket while it sat on the senior board. An escalation by a condition (onsite "
        "needed, a missing skill) coming back when that work is done is the plan working, not waste.",
        header=["Ticket", "Escalated", "From", "To", "By", "Came back", "By", "Senior minutes"],
        empty="No wasted escalation came back in this period.",
    )

    def name(pk):
        c = reads.criteria.get(pk)
        return c.name if c else "by hand"

    for w in sorted(found, key=lambda w: w.back_at, reverse=True):
        values = [
            timezone.localtime(w.escalated_at).strftime("%Y-%m-%d %H:%M"),
            reads.board_name(w.from_board_id),
            reads.board_name(w.to_board_id),
            name(w.escalated_by),
            timezone.localtime(w.back_at).strftime("%Y-%m-%d %H:%M"),
            name(w.back_by),
            w.minutes,
        ]
        if len(table.rows) < TICKET_LIST:
            table.rows.append([_ticket_link(w.ticket_id), *values])
        table.csv.append([w.ticket_id, *values])
    table.count = reads.paths["wasted_count"]
    if found:
        table.total = [_plural(table.count, "escalation"), "", "", "", "", "", "", reads.paths["wasted_minutes"]]
    return table


# --- 6. Bounces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounce:
    ticket_id: int
    board_moves: int  # board moves of the ticket up to its last bounce in the period
    round_trip: bool  # went A→B→A within a day
    at: datetime  # its last bouncing move in the period


def bounces_found(reads: _Reads) -> list[Bounce]:
    """Tickets that bounced in the period: a board move in the period that was the ticket's third
    (or later) board move over its whole life, or that took it back to the board
    it had left less than 24 hours before (A→B→A within a day). One row per
    ticket, however many bounces. With a board filter: bouncing moves that leave or reach it.
    Returns the latest ``reads.detail_limit`` (all for a CSV); ``reads.paths`` counts all.
    """
    return reads.paths["bounces"]


def bounces(reads: _Reads, found: list[Bounce] | None = None) -> Table:
    found = bounces_found(reads) if found is None else found
    table = Table(
        name="bounces",
        title="Bounces",
        definition="Tickets that, in this period, made their third (or later) move between boards, or went back "
        "to a board less than 24 hours after leaving it (A→B→A within a day).",
        header=["Ticket", "Board moves", "A→B→A within a day", "Last bounce"],
        empty="No ticket bounced in this period.",
    )
    for b in sorted(found, key=lambda b: (-b.board_moves, b.ticket_id)):
        values = [b.board_moves, "yes" if b.round_trip else "no", timezone.localtime(b.at).strftime("%Y-%m-%d %H:%M")]
        if len(table.rows) < TICKET_LIST:
            table.rows.append([_ticket_link(b.ticket_id), *values])
        table.csv.append([b.ticket_id, *values])
    table.count = reads.paths["bounce_count"]
    if found:
        table.total = [_plural(table.count, "ticket"), "", reads.paths["round_trips"], ""]
    return table


# --- 7. Breach rate per time limit ---------------------------------------------------------


def resolutions_by_position(reads: _Reads) -> dict[tuple[int, int], int]:
    """Tickets resolved in the period per (board, tier) they were resolved at."""
    return reads.cohort["resolved_at"]


def breaches(reads: _Reads) -> Table:
    """Per active time criterion: the share of tickets that left its board and tier in the period
    and did so because its limit was hit.

    Fired: the criterion's moves in the period. Left: every way out of a
    (board, tier) it applies to in the period — a routing move from there (the
    limit, a condition, a person) or a resolution there. Tickets still at that
    board and tier at the end of the period have not left and are not counted.
    """
    fired: dict[int, int] = defaultdict(int)
    left: dict[tuple[int, int], int] = defaultdict(int)
    for g in reads.routing_groups:
        if g["criterion_id"] is not None:
            fired[g["criterion_id"]] += g["n"]
        left[(g["from_board_id"], g["from_tier"])] += g["n"]
    for position, n in resolutions_by_position(reads).items():
        if reads.board_id is None or position[0] == reads.board_id:
            left[position] += n
    table = Table(
        name="breaches",
        text_columns=3,
        title="Breach rate per time limit",
        definition="For each time limit: of the tickets that left its board and tier in the period (moved on, "
        "or resolved there), the share that left because the limit was hit. Tickets still there at the end of "
        "the period are not counted.",
        header=["Time limit", "Board", "Tier", "Limit", "Hit the limit", "Left the board and tier", "Breach rate"],
        empty="No time criterion is active.",
    )
    for c in reads.criteria.values():
        if c.trigger != Criterion.Trigger.TIME or not c.active:
            continue
        if reads.board_id is not None and c.from_board_id not in (None, reads.board_id):
            continue
        out = sum(
            n
            for (board_id, tier), n in left.items()
            if board_id in reads.boards and c.applies_to(reads.boards[board_id], tier)
        )
        hit = fired.get(c.pk, 0)
        board = reads.board_name(c.from_board_id) if c.from_board_id else "Any"
        tier = c.from_tier if c.from_tier is not None else "Any"
        share = _share(hit, out)
        # The limits in words ("30 min; P1 10 min", "P1 10 min, P2 20 min only"); the CSV keeps numbers:
        # the general limit (empty when it applies to some priorities only), each priority's own at the end.
        table.rows.append([c.name, board, tier, c.describe_limit(), hit, out, share_text(share)])
        own = c.priority_limits
        table.csv.append(
            [
                c.name,
                board,
                tier,
                "" if c.time_limit_minutes is None else c.time_limit_minutes,
                hit,
                out,
                None if share is None else round(share, 4),
                *("" if own.get(p) is None else own[p] for p in PRIORITY_LIMIT_FIELDS),
            ]
        )
    table.header_csv = [
        *table.header[:3],
        "Limit (min, priorities without their own)",
        *table.header[4:],
        *(f"P{p} limit (min)" for p in PRIORITY_LIMIT_FIELDS),
    ]
    return table


# --- 8. Load ---------------------------------------------------------------------------------


def minutes_by_position(reads: _Reads) -> dict[tuple[int, int], int]:
    """Minutes logged in notes written in the period, per the (board, tier) the ticket stood at
    when the note was written (its latest move at or before the note): ``flow.facts.minutes_counts``."""
    return minutes_counts(reads.start, reads.end, reads.coverage)


def load(reads: _Reads) -> Table:
    """Open tickets now per board and tier, against the active technicians of that tier who work
    the board; and the minutes logged in the period at that board and tier.

    Open and overdue are as of now, not the period's end. A note's minutes go
    to the board and tier the ticket stood at when the note was written.
    """
    open_now: dict[tuple[int, int], tuple[int, int]] = {
        (b, t): (n, overdue)
        for b, t, n, overdue in Ticket.objects.open()
        .values_list("board_id", "tier")
        .annotate(n=Count("*"), overdue=Count("deadline_at", filter=Q(deadline_at__lte=reads.now)))
        .order_by()
    }
    staff: dict[tuple[int, int], int] = {
        (b, t): n
        for b, t, n in Technician.objects.filter(user__is_active=True, boards__isnull=False)
        .values_list("boards", "tier")
        .annotate(n=Count("*"))
        .order_by()
    }
    minutes = minutes_by_position(reads)
    positions = sorted(
        set(open_now) | set(staff) | set(minutes),
        key=lambda p: (list(reads.boards).index(p[0]) if p[0] in reads.boards else 0, p[1]),
    )
    if reads.board_id is not None:
        positions = [p for p in positions if p[0] == reads.board_id]
    table = Table(
        name="load",
        title="Load",
        definition="Open tickets now on each board and tier, the active technicians of that tier who work the "
        "board, and the minutes logged in the period while tickets stood there.",
        header=["Board", "Tier", "Open now", "Overdue now", "Technicians", "Open per technician", "Minutes logged"],
        empty="No open tickets, technicians or logged minutes.",
    )
    for board_id, tier in positions:
        n, overdue = open_now.get((board_id, tier), (0, 0))
        techs = staff.get((board_id, tier), 0)
        per_tech = round(n / techs, 1) if techs else None
        logged = minutes.get((board_id, tier), 0)
        row = [reads.board_name(board_id), tier, n, overdue, techs, "–" if per_tech is None else per_tech, logged]
        table.rows.append(row)
        table.csv.append([*row[:5], per_tech, logged])
    return table


# --- 9. Stale tickets -------------------------------------------------------------------------


def oldest_open(reads: _Reads) -> Table:
    """The oldest open tickets of each board (by opening time), as of now."""
    tickets = (
        Ticket.objects.open()
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("board_id")], order_by=[F("created_at").asc(), F("pk").asc()])
        )
        .filter(rank__lte=OLDEST_PER_BOARD)
        .values_list("pk", "board_id", "title", "created_at")
    )
    if reads.board_id is not None:
        tickets = tickets.filter(board_id=reads.board_id)
    table = Table(
        name="oldest",
        text_columns=4,
        title="Oldest open tickets",
        definition=f"The {OLDEST_PER_BOARD} oldest open tickets on each board, as of now.",
        header=["Board", "Ticket", "Title", "Opened", "Age"],
        empty="No open tickets.",
    )
    order = list(reads.boards)
    for pk, board_id, title, created in sorted(
        tickets, key=lambda r: (order.index(r[1]) if r[1] in order else 0, r[3])
    ):
        age = minutes_text((reads.now - created).total_seconds())
        opened = timezone.localtime(created).strftime("%Y-%m-%d %H:%M")
        table.rows.append([reads.board_name(board_id), _ticket_link(pk), title, opened, age])
        table.csv.append(
            [reads.board_name(board_id), pk, title, opened, round((reads.now - created).total_seconds() / 60)]
        )
    return table


def idle(reads: _Reads) -> Table:
    """Open tickets with no activity for N days (N = the URL's ``stale``), as of now.

    Activity is a move (of any kind, by anyone or the scheduler) or a note;
    the last of them is the ticket's last activity.
    """
    cutoff = reads.now - timedelta(days=reads.query.stale_days)
    # The latest of each, one index step back from the end (move_ticket_timeline_idx), not a MAX over all.
    last_move = Move.objects.filter(ticket=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    last_note = Note.objects.filter(ticket=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    tickets = Ticket.objects.open().annotate(last_move=Subquery(last_move), last_note=Subquery(last_note))
    tickets = tickets.filter(last_move__lt=cutoff).filter(Q(last_note__isnull=True) | Q(last_note__lt=cutoff))
    if reads.board_id is not None:
        tickets = tickets.filter(board_id=reads.board_id)
    rows = list(
        tickets.annotate(total=Window(Count("*")))
        .order_by("last_move", "pk")
        .values_list("pk", "board_id", "title", "last_move", "last_note", "total")[:STALE_LIST]
    )
    total = rows[0][5] if rows else 0
    table = Table(
        name="idle",
        text_columns=4,
        title=f"No activity for {reads.query.stale_days} days",
        definition=f"Open tickets with no move and no note for {reads.query.stale_days} days or more, as of now "
        f"({total} in all; the longest idle first). Change N with the period filter's stale setting (?stale=N).",
        header=["Ticket", "Board", "Title", "Last activity", "Idle"],
        empty=f"Every open ticket moved or got a note within {reads.query.stale_days} days.",
    )
    for pk, board_id, title, last_move, last_note, _total in rows:
        last = max(a for a in (last_move, last_note) if a is not None)
        when = timezone.localtime(last).strftime("%Y-%m-%d %H:%M")
        table.rows.append(
            [
                _ticket_link(pk),
                reads.board_name(board_id),
                title,
                when,
                minutes_text((reads.now - last).total_seconds()),
            ]
        )
        table.csv.append([pk, reads.board_name(board_id), title, when, round((reads.now - last).total_seconds() / 60)])
    table.total_count = total
    return table


# --- 10. The daily chart -------------------------------------------------------------------------


@dataclass
class Chart:
    title: str
    days: list[tuple[date, int, int]]  # (day, escalations, de-escalations)
    # Drawn at the card's width: a wide viewBox keeps its 11px words near the page's size on a desktop.
    width: int = 1000
    height: int = 220
    bars: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    peak: int = 0


def daily(reads: _Reads) -> tuple[Table, Chart]:
    """Escalations and de-escalations per day of the period (routing moves by direction; days in
    the site's time zone, every day of the period shown, empty days as zero)."""
    per: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for g in reads.routing_groups:
        if g["direction"] == Direction.ESCALATE:
            per[g["day"]][0] += g["n"]
        elif g["direction"] == Direction.DE_ESCALATE:
            per[g["day"]][1] += g["n"]
    first = timezone.localtime(reads.start).date()
    last = timezone.localtime(reads.end - timedelta(microseconds=1)).date()
    days = []
    day = first
    while day <= last:
        days.append((day, *per.get(day, (0, 0))))
        day += timedelta(days=1)
    table = Table(
        name="daily",
        title="Escalations and de-escalations per day",
        definition="Moves that changed board or tier, per day, by direction (transfers are not shown).",
        header=["Day", "Escalations", "De-escalations"],
    )
    for d, up, down in days:
        table.rows.append([d.isoformat(), up, down])
        table.csv.append([d.isoformat(), up, down])
    chart = Chart(title=f"Escalations and de-escalations per day, {reads.query.label.lower()}", days=days)
    _lay_out(chart)
    return table, chart


def _lay_out(chart: Chart) -> None:
    """Paired bars per day, escalations up from the axis and de-escalations down from it."""
    left, top, bottom = 40, 12, 24
    plot_w = chart.width - left - 8
    half = (chart.height - top - bottom) / 2
    axis = top + half
    peak = max([max(up, down) for _d, up, down in chart.days] + [1])
    chart.peak = peak
    slot = plot_w / max(len(chart.days), 1)
    bar_w = max(min(slot * 0.8, 24), 1)
    for i, (day, up, down) in enumerate(chart.days):
        x = left + i * slot + (slot - bar_w) / 2
        hu, hd = up / peak * half, down / peak * half
        label = f"{day:%a %d %b}: {up} escalations, {down} de-escalations"
        chart.bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "up_y": round(axis - hu, 1),
                "up_h": round(hu, 1),
                "down_y": round(axis, 1),
                "down_h": round(hd, 1),
                "label": label,
            }
        )
    step = max(1, math.ceil(len(chart.days) / 8))
    for i in range(0, len(chart.days), step):
        chart.ticks.append({"x": round(left + i * slot + slot / 2, 1), "text": f"{chart.days[i][0]:%d %b}"})
    chart.axis_y = round(axis, 1)
    chart.left = left
    chart.top_y = top
    chart.bottom_y = round(axis + half, 1)
    chart.label_y = chart.height - 6


# --- The page, the CSVs and the headline ---


# Facts older than this mean the beat task is not running: say so on the page.
FACTS_LAG_WARNING = timedelta(minutes=10)


@dataclass(frozen=True)
class Freshness:
    """Where the figures come from, for a line under the gauges."""

    text: str
    lagging: bool = False


def freshness(cover: Coverage, now: datetime) -> Freshness:
    """The figures are exact either way (whatever the facts do not cover is read from the log);
    what a lag changes is how much is read live, so the page says how old the facts are."""
    if not cover.built:
        return Freshness(
            "Every figure is read straight from the move log: the precomputed facts have not been built "
            "yet (the beat task builds them every minute; manage.py flow_facts does it now).",
            lagging=True,
        )
    lag = max(now - cover.built_at, timedelta(0))
    built = timezone.localtime(cover.built_at).strftime("%Y-%m-%d %H:%M")
    text = (
        f"Whole days and tickets untouched since {built} ({minutes_text(lag.total_seconds())} ago) come from "
        "precomputed facts; everything newer is read straight from the move log, so every figure is current."
    )
    if lag > FACTS_LAG_WARNING:
        return Freshness(
            text + " The facts are lagging (is the Celery beat running?): the page is slower until they catch up.",
            lagging=True,
        )
    return Freshness(text)


@dataclass
class Gauges:
    query: FlowQuery
    summary: dict
    tables: list[Table]
    chart: Chart
    daily_table: Table
    freshness: Freshness | None = None

    def table(self, name: str) -> Table:
        return next(t for t in [*self.tables, self.daily_table] if t.name == name)


# Each CSV and the function that builds its table (the daily one is built with its chart).
BUILDERS: dict[str, Callable[[_Reads], Table]] = {
    "matrix": matrix,
    "criteria": criteria,
    "first-board": first_board,
    "time-on-board": time_on_board,
    "wasted": wasted,
    "bounces": bounces,
    "breaches": breaches,
    "load": load,
    "oldest": oldest_open,
    "idle": idle,
    "daily": lambda reads: daily(reads)[0],
}


def _summary(reads: _Reads, found_wasted: list[Wasted], found_bounces: list[Bounce]) -> dict:
    moves = escalations = de_escalations = by_scheduler = 0
    for g in reads.routing_groups:
        moves += g["n"]
        escalations += g["n"] if g["direction"] == Direction.ESCALATE else 0
        de_escalations += g["n"] if g["direction"] == Direction.DE_ESCALATE else 0
        by_scheduler += g["n"] if g["who"] == "scheduler" else 0
    return {
        "period_label": reads.query.label,
        "moves": moves,
        "escalations": escalations,
        "de_escalations": de_escalations,
        "by_scheduler": by_scheduler,
        "first_board_resolution": first_board_share(reads),
        "bounces": reads.paths["bounce_count"],
        "wasted_escalations": reads.paths["wasted_count"],
    }


def compute(query: FlowQuery, now: datetime) -> Gauges:
    """Every gauge for the Flow page, in a fixed number of queries."""
    with read_only_fast():
        return _compute(_Reads(query, now))


def _compute(reads: _Reads) -> Gauges:
    query = reads.query
    found_wasted = wasted_escalations(reads)
    found_bounces = bounces_found(reads)
    daily_table, chart = daily(reads)
    tables = [
        matrix(reads),
        criteria(reads),
        first_board(reads),
        time_on_board(reads),
        wasted(reads, found_wasted),
        bounces(reads, found_bounces),
        breaches(reads),
        load(reads),
        oldest_open(reads),
        idle(reads),
    ]
    summary = _summary(reads, found_wasted, found_bounces)
    summary["overdue_now"] = _overdue_now(reads)
    return Gauges(
        query=query,
        summary=summary,
        tables=tables,
        chart=chart,
        daily_table=daily_table,
        freshness=freshness(reads.coverage, reads.now),
    )


def _overdue_now(reads: _Reads) -> int:
    tickets = Ticket.objects.overdue(reads.now)
    if reads.board_id is not None:
        tickets = tickets.filter(board_id=reads.board_id)
    return tickets.count()


def csv_rows(name: str, query: FlowQuery, now: datetime) -> tuple[list[str], list[list]]:
    """One gauge's table for download: (header, rows), raw numbers (minutes, shares 0..1). KeyError if unknown."""
    builder = BUILDERS[name]
    with read_only_fast():
        table = builder(_Reads(query, now, detail_limit=None))
    header = getattr(table, "header_csv", table.header)
    rows = list(table.csv)
    return header, rows


def headline(now: datetime) -> dict:
    """The manager's home: the last 7 days on every board, with exactly these keys:
    period_label, moves, escalations, de_escalations, by_scheduler,
    first_board_resolution (0..1 or None), bounces, wasted_escalations, overdue_now.
    The same definitions as the Flow page's gauges."""
    query = FlowQuery(start=now - timedelta(days=7), end=now, range_key="7d")
    reads = _Reads(query, now, detail_limit=1)  # one row per list carries its totals
    with read_only_fast():
        summary = _summary(reads, wasted_escalations(reads), bounces_found(reads))
        summary["overdue_now"] = _overdue_now(reads)
    return summary
