"""The map: boards as nodes, criteria as arrows, with the period's traffic on them.

``build(query, now)`` reads the live boards and criteria and the Move log in a
fixed number of queries (however many moves there are) and lays the map out as
an *arc diagram*: the boards stand in a row in their board order; an arrow to
a board further right arcs above the row, one to a board further left arcs
below it, and a change of tier on the same board loops over (up a tier) or
under (down a tier) its board. Each arc's label sits on its flat top, and arcs
are stacked on levels so that no two labels overlap and an arc always clears
the arcs nested inside it. That stays readable with 8 boards and 30 criteria,
where a free-form graph drawing would tangle.

Direction is told apart three ways, so colour is never the only cue:
escalations are solid lines with a filled arrowhead, de-escalations dashed
with an open chevron, transfers dotted with a diamond.

``render_svg`` draws it; the page inlines it (styled by flow.css, so it follows
light and dark mode) and ``/flow/map.svg`` serves it standalone, with its own
<style> carrying both colour schemes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse

from boards.models import Board, Column, Technician, Ticket
from routing.models import Criterion, Direction, Move

from .facts import Coverage, opening_counts, resolution_counts, routing_counts
from .period import FlowQuery

# Geometry, in SVG user units (px at 100 %).
NODE_W = 184
NODE_H = 92
PITCH = NODE_W + 150  # node centre to node centre: room for the intake and resolution stubs
MARGIN = 24
LEVEL_H = 26  # one level of arcs: a label line plus air
ROW_GAP = 18  # between the first level and the boards
STUB = 52  # intake and resolution arrows
LABEL_CHARS = 34  # longer criterion names are cut on the map (the table and tooltip have them whole)
CHAR_W = 6.6  # average glyph width at the label size, for collision checks
LEGEND_H = 34
LOOP_LABEL_GAP = 26  # from a board's centre to its loops' labels: clear of a few nested loops

# What the trigger looks like on a label.
TRIGGER_TEXT = {
    Criterion.Trigger.TIME: "time limit",
    Criterion.Trigger.CONDITION: "condition",
    Criterion.Trigger.MANUAL: "by hand",
}
DIRECTION_CLASS = {Direction.ESCALATE: "escalate", Direction.DE_ESCALATE: "deescalate", Direction.TRANSFER: "transfer"}

ANY_BOARD = 0  # the node id of "any board", for criteria with no from_board
ARROW_KINDS = ("criterion", "opened", "resolved")


@dataclass
class Node:
    id: int  # the board's pk, or ANY_BOARD
    name: str
    slug: str = ""
    colour: str = "#6b7280"
    url: str = ""
    tiers: list[int] = field(default_factory=list)
    open_by_tier: dict[int, int] = field(default_factory=dict)
    open_count: int = 0
    overdue_count: int = 0
    opened: int = 0  # tickets opened here in the period
    opened_by_source: list[tuple[str, int]] = field(default_factory=list)  # of those, opened by alert sources
    resolved: int = 0  # tickets resolved here in the period
    show_stubs: bool = True  # the intake and resolution arrows (not on a filtered map's neighbours)
    x: float = 0  # centre
    y: float = 0  # top

    @property
    def is_any(self) -> bool:
        return self.id == ANY_BOARD

    @property
    def left(self) -> float:
        return self.x - NODE_W / 2

    @property
    def right(self) -> float:
        return self.x + NODE_W / 2

    @property
    def bottom(self) -> float:
        return self.y + NODE_H

    @property
    def mid(self) -> float:
        return self.y + NODE_H / 2

    @property
    def tier_text(self) -> str:
        if not self.tiers:
            return "No tiers"
        return ("Tier " if len(self.tiers) == 1 else "Tiers ") + ", ".join(str(t) for t in self.tiers)

    @property
    def opened_text(self) -> str:
        """The intake stub's tooltip: how many tickets arrived, and how many of them alert sources opened."""
        text = f"{self.opened} ticket{'s' if self.opened != 1 else ''} opened on {self.name} in the period"
        if self.opened_by_source:
            by_alerts = sum(n for _, n in self.opened_by_source)
            sources = ", ".join(f"{n} by {name}" for name, n in self.opened_by_source)
            return f"{text}: {sources}; {self.opened - by_alerts} by people and other channels"
        return text

    @property
    def tier_counts(self) -> str:
        """Open tickets per tier, for the node's tooltip."""
        return "; ".join(f"tier {t}: {self.open_by_tier.get(t, 0)} open" for t in self.tiers)


@dataclass
class Arrow:
    criterion: Criterion
    source: Node
    target: Node
    count: int = 0
    from_tier: int | None = None
    to_tier: int | None = None
    # Layout, filled in by _layout.
    above: bool = True
    level: int = 1
    x1: float = 0
    x2: float = 0
    width: float = 1.5
    path: str = ""
    label_x: float = 0
    label_y: float = 0

    @property
    def direction_class(self) -> str:
        return DIRECTION_CLASS.get(self.criterion.direction, "transfer")

    @property
    def is_loop(self) -> bool:
        return self.source is self.target

    @property
    def trigger_text(self) -> str:
        c = self.criterion
        if c.trigger == Criterion.Trigger.TIME:
            # describe_limit: "30 min", "30 min; P1 10 min" or "P1 10 min, P2 20 min only".
            return f"time limit {c.describe_limit()}"
        if c.trigger == Criterion.Trigger.INACTIVITY:
            # Counted in the board's working hours (its calendar), like the time limits.
            return f"no activity for {c.idle_hours} working hours{' (notifies)' if c.notify_only else ''}"
        if c.trigger == Criterion.Trigger.CONDITION:
            return f"condition: {c.get_condition_display().lower().removeprefix('the ticket ')}"
        return TRIGGER_TEXT.get(c.trigger, c.trigger)

    @property
    def tier_change(self) -> str:
        if self.to_tier is None:
            return ""
        return f"T{self.from_tier if self.from_tier is not None else '*'}→T{self.to_tier}"

    @property
    def short_name(self) -> str:
        name = self.criterion.name
        return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"

    @property
    def label(self) -> str:
        off = "" if self.criterion.active else " (off)"
        return f"{self.short_name}{off} · {self.count}"

    @property
    def title(self) -> str:
        """The tooltip and accessible name: everything about the arrow in words."""
        c = self.criterion
        where = f"{self.source.name} → {self.target.name}" if not self.is_loop else f"on {self.source.name}"
        tiers = f", {self.tier_change}" if self.tier_change else ""
        state = "" if c.active else " Switched off."
        moves = "move" if self.count == 1 else "moves"
        what = f"{c.get_direction_display().lower()} {where}{tiers}, {self.trigger_text}"
        return f"{c.name}: {what}; {self.count} {moves} in the period.{state}"

    @property
    def label_anchor(self) -> str:
        return "start" if self.is_loop else "middle"

    @property
    def label_width(self) -> float:
        return len(self.label) * CHAR_W + 8


@dataclass
class FlowMap:
    nodes: list[Node]
    arrows: list[Arrow]
    width: float
    height: float
    legend_y: float
    max_count: int
    query: FlowQuery
    svg: str = ""

    @property
    def total_moves(self) -> int:
        return sum(a.count for a in self.arrows)


# --- Reading ---------------------------------------------------------------------


def _move_counts(query: FlowQuery) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """(moves per criterion, tickets opened per board, tickets resolved per board) in the period.

    The same counts as the gauges (flow.facts): whole days from the daily
    counts, the ragged ends and anything newer than the facts from the raw
    rows. Criteria move tickets between boards or tiers (ROUTING_MOVE); a
    ticket opened is its first Move (OPENING_MOVE); resolved means closed in
    the period and still closed, on the board it was closed on.
    """
    cover = Coverage.read()
    board_id = query.board.pk if query.board is not None else None
    by_criterion: dict[int, int] = defaultdict(int)
    for g in routing_counts(query.start, query.end, cover, board_id):
        if g["criterion_id"] is not None:
            by_criterion[g["criterion_id"]] += g["n"]
    resolved: dict[int, int] = defaultdict(int)
    for (_first, _stayed, board, _tier), n in resolution_counts(query.start, query.end, cover).items():
        if board_id is None or board == board_id:
            resolved[board] += n
    return dict(by_criterion), opening_counts(query.start, query.end, cover, board_id), dict(resolved)


def _opened_by_source(query: FlowQuery) -> dict[int, list[tuple[str, int]]]:
    """Tickets opened in the period by each alert source, per board (one grouped read)."""
    from intake.models import Alert

    # One filter() call, so every condition is on the same (opening) move.
    on_board = {"ticket__moves__to_board": query.board} if query.board is not None else {}
    opened = Alert.objects.filter(
        ticket__moves__from_board__isnull=True,
        ticket__moves__created_at__gte=query.start,
        ticket__moves__created_at__lt=query.end,
        **on_board,
    )
    rows = (
        opened.values_list("ticket__moves__to_board_id", "source__name")
        .annotate(n=Count("pk"))
        .order_by("ticket__moves__to_board_id", "-n", "source__name")
    )
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for board_id, name, n in rows:
        found[board_id].append((name, n))
    return found


def _open_counts(now: datetime) -> dict[int, dict[int, tuple[int, int]]]:
    """Open and overdue tickets now, per board and tier."""
    rows = (
        Ticket.objects.open()
        .values_list("board_id", "tier")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(deadline_at__lte=now)))
        .order_by()
    )
    counts: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for board_id, tier, n, overdue in rows:
        counts[board_id][tier] = (n, overdue)
    return counts


def _staffed_tiers() -> dict[int, set[int]]:
    """The tiers of the active technicians who work each board."""
    tiers: dict[int, set[int]] = defaultdict(set)
    rows = Technician.objects.filter(user__is_active=True).values_list("boards", "tier").order_by()
    for board_id, tier in rows:
        if board_id is not None:
            tiers[board_id].add(tier)
    return tiers


def build(query: FlowQuery, now: datetime) -> FlowMap:
    """The map for this period and board filter: eight queries, whatever the size of the log."""
    boards = list(Board.objects.all())
    by_criterion, opened, resolved = _move_counts(query)
    # Every active criterion is an arrow; a switched-off one only while it still moved tickets in the period.
    criteria = [
        c
        for c in Criterion.objects.select_related("from_board", "to_board").order_by("position", "pk")
        if c.active or by_criterion.get(c.pk)
    ]
    open_counts = _open_counts(now)
    staffed = _staffed_tiers()
    by_source = _opened_by_source(query)

    nodes: dict[int, Node] = {}
    for board in boards:
        here = open_counts.get(board.pk, {})
        tiers = set(staffed.get(board.pk, ())) | set(here)
        nodes[board.pk] = Node(
            id=board.pk,
            name=board.name,
            slug=board.slug,
            colour=board.colour,
            url=board.get_absolute_url(),
            tiers=sorted(tiers),
            open_by_tier={tier: n for tier, (n, _) in here.items()},
            open_count=sum(n for n, _ in here.values()),
            overdue_count=sum(o for _, o in here.values()),
            opened=opened.get(board.pk, 0),
            opened_by_source=by_source.get(board.pk, []),
            resolved=resolved.get(board.pk, 0),
        )

    any_node = Node(id=ANY_BOARD, name="Any board", show_stubs=False)
    arrows = []
    for c in criteria:
        source = nodes[c.from_board_id] if c.from_board_id else any_node
        target = nodes[c.to_board_id] if c.to_board_id else source
        arrows.append(Arrow(c, source, target, by_criterion.get(c.pk, 0), c.from_tier, c.to_tier))

    shown = boards
    if query.board is not None:
        # One board's map: its arrows in and out, and the boards at their other ends.
        arrows = [a for a in arrows if query.board.pk in (a.source.id, a.target.id) or a.source.is_any]
        ends = {query.board.pk} | {a.source.id for a in arrows} | {a.target.id for a in arrows}
        shown = [b for b in boards if b.pk in ends]
        for board in shown:
            nodes[board.pk].show_stubs = board.pk == query.board.pk
    node_list = [nodes[b.pk] for b in shown]
    if any(a.source.is_any for a in arrows):
        node_list.insert(0, any_node)
    flow_map = _layout(node_list, arrows, query)
    flow_map.svg = render_svg(flow_map)
    return flow_map


# --- Layout ----------------------------------------------------------------------


def _layout(nodes: list[Node], arrows: list[Arrow], query: FlowQuery) -> FlowMap:
    """Place the boards in a row and stack the arcs on levels (see the module docstring).

    1. Each arc goes above the row when it points right (or is a loop up a
       tier), below when it points left.
    2. Arcs are placed shortest first; each takes the lowest level that is
       higher than every arc nested inside it and whose label does not overlap
       a label already on that level.
    3. At each board, the arcs' feet are spread along its top and bottom edges,
       outer arcs further out, so no two vertical strokes coincide.
    """
    for i, node in enumerate(nodes):
        node.x = MARGIN + STUB + NODE_W / 2 + i * PITCH
    order = {node.id: i for i, node in enumerate(nodes)}

    for arrow in arrows:
        i, j = order[arrow.source.id], order[arrow.target.id]
        arrow.above = j > i or (i == j and arrow.criterion.direction != Direction.DE_ESCALATE)

    levels = {True: 0, False: 0}
    placed: dict[bool, list[Arrow]] = {True: [], False: []}

    def span(a: Arrow) -> tuple[float, float]:
        i, j = order[a.source.id], order[a.target.id]
        return (min(i, j) - (0.3 if i == j else 0), max(i, j) + (0.3 if i == j else 0))

    def label_box(a: Arrow) -> tuple[float, float]:
        lo, hi = span(a)
        centre = (lo + hi) / 2 * PITCH
        if a.is_loop:
            # A loop's label starts just right of the loop, clear of the feet arriving from the left.
            return centre + LOOP_LABEL_GAP, centre + LOOP_LABEL_GAP + a.label_width
        return centre - a.label_width / 2, centre + a.label_width / 2

    for arrow in sorted(arrows, key=lambda a: (span(a)[1] - span(a)[0], a.criterion.position, a.criterion.pk)):
        lo, hi = span(arrow)
        side = placed[arrow.above]
        floor = max((o.level for o in side if lo <= span(o)[0] and span(o)[1] <= hi), default=0)
        left, right = label_box(arrow)
        level = floor + 1
        while any(o.level == level and label_box(o)[0] < right and left < label_box(o)[1] for o in side):
            level += 1
        arrow.level = level
        side.append(arrow)
        levels[arrow.above] = max(levels[arrow.above], level)

    row_y = MARGIN + levels[True] * LEVEL_H + ROW_GAP + 14
    for node in nodes:
        node.y = row_y
    _place_feet(nodes, arrows, order)

    max_count = max((a.count for a in arrows), default=0)
    for arrow in arrows:
        arrow.width = 1.5 + (5.5 * math.sqrt(arrow.count / max_count) if max_count else 0)
        if arrow.above:
            y0, y_level = row_y, row_y - ROW_GAP - (arrow.level - 1) * LEVEL_H - 10
        else:
            y0 = row_y + NODE_H
            y_level = y0 + ROW_GAP + (arrow.level - 1) * LEVEL_H + 10
        arrow.path = _bracket(arrow.x1, arrow.x2, y0, y_level)
        arrow.label_x = arrow.source.x + LOOP_LABEL_GAP if arrow.is_loop else (arrow.x1 + arrow.x2) / 2
        arrow.label_y = y_level - 5 if arrow.above else y_level + 14

    width = MARGIN * 2 + STUB * 2 + NODE_W + max(len(nodes) - 1, 0) * PITCH
    # A label may stand out past the last board (a loop's, a long name's): widen the picture to hold it.
    for arrow in arrows:
        left = arrow.label_x if arrow.label_anchor == "start" else arrow.label_x - arrow.label_width / 2
        width = max(width, left + arrow.label_width + MARGIN)
    below = row_y + NODE_H + ROW_GAP + levels[False] * LEVEL_H + 16
    return FlowMap(
        nodes=nodes,
        arrows=arrows,
        width=width,
        height=below + LEGEND_H,
        legend_y=below + 10,
        max_count=max_count,
        query=query,
    )


def _place_feet(nodes: list[Node], arrows: list[Arrow], order: dict[int, int]) -> None:
    """Spread each arc's two feet along its boards' edges.

    On a board's top edge, arcs arriving from the left stand on its left half
    and arcs leaving to the right on its right half (the bottom edge mirrors
    it); loops take the middle. Outer (higher) arcs stand further out.
    """
    feet: dict[tuple[int, bool, str], list[tuple[Arrow, str]]] = defaultdict(list)
    for arrow in arrows:
        s, t = arrow.source.id, arrow.target.id
        if s == t:
            feet[(s, arrow.above, "mid")].append((arrow, "both"))
            continue
        rightward = order[t] > order[s]
        # Above the row arcs point right: they leave from the right half, arrive on the left half.
        feet[(s, arrow.above, "right" if rightward else "left")].append((arrow, "x1"))
        feet[(t, arrow.above, "left" if rightward else "right")].append((arrow, "x2"))
    by_id = {n.id: n for n in nodes}
    usable = NODE_W / 2 - 16
    for (node_id, _above, half), items in feet.items():
        node = by_id[node_id]
        # Highest arc first: it stands nearest the middle, and each lower arc
        # stands further towards its other end, so nested arcs never cross.
        items.sort(key=lambda item: (-item[0].level, item[0].criterion.position, item[0].criterion.pk))
        step = min(16.0, usable / max(len(items), 1))
        for rank, (arrow, end) in enumerate(items):
            if half == "mid":
                # Loops nest the other way: the highest is the widest.
                spread = 7 + (len(items) - 1 - rank) * 3
                arrow.x1, arrow.x2 = node.x - spread, node.x + spread
            elif half == "right":
                setattr(arrow, end, node.x + 14 + rank * step)
            else:
                setattr(arrow, end, node.x - 14 - rank * step)


def _bracket(x1: float, x2: float, y0: float, y: float, r: float = 8) -> str:
    """An arc as a rounded bracket: up (or down) from x1, across at y, down (or up) to x2."""
    sy = -1 if y < y0 else 1
    sx = 1 if x2 >= x1 else -1
    r = min(r, abs(x2 - x1) / 2, abs(y - y0))
    return (
        f"M{x1:.1f},{y0:.1f} V{y - sy * r:.1f} Q{x1:.1f},{y:.1f} {x1 + sx * r:.1f},{y:.1f} "
        f"H{x2 - sx * r:.1f} Q{x2:.1f},{y:.1f} {x2:.1f},{y - sy * r:.1f} V{y0 + sy * 1:.1f}"
    )


# --- Drawing -----------------------------------------------------------------------


def render_svg(flow_map: FlowMap, *, standalone: bool = False) -> str:
    # URL prefixes built once per map, not per arrow: /flow/arrows/<kind>/ (the pk and "/" follow).
    prefixes = {kind: reverse("flow:arrow", args=[kind, 0]).removesuffix("0/") for kind in ARROW_KINDS}
    return render_to_string(
        "flow/map.svg",
        {
            "m": flow_map,
            "standalone": standalone,
            "query": flow_map.query.query(),
            "prefix": prefixes,
            "node_w": NODE_W,
            "node_h": NODE_H,
        },
    )


# --- One arrow's tickets ---------------------------------------------------------

ARROW_LIMIT = 200


@dataclass
class ArrowMoves:
    kind: str
    title: str
    description: str
    total: int
    moves: list[Move]

    @property
    def more(self) -> int:
        return max(self.total - len(self.moves), 0)


def arrow_moves(kind: str, pk: int, query: FlowQuery) -> ArrowMoves | None:
    """The moves one arrow stands for in the period, newest first (at most ARROW_LIMIT of them).

    ``kind`` is ``criterion`` (pk: the criterion), ``opened`` or ``resolved``
    (pk: the board). None when there is no such arrow.
    """
    moves = Move.objects.filter(created_at__gte=query.start, created_at__lt=query.end)
    if kind == "criterion":
        criterion = Criterion.objects.select_related("from_board", "to_board").filter(pk=pk).first()
        if criterion is None:
            return None
        moves = moves.filter(criterion=criterion)
        if query.board is not None:
            moves = moves.filter(Q(from_board=query.board) | Q(to_board=query.board))
        source = criterion.from_board.name if criterion.from_board else "any board"
        target = criterion.to_board.name if criterion.to_board else "the same board"
        title = criterion.name
        description = f"{criterion.get_direction_display()}, {source} → {target}"
    elif kind in ("opened", "resolved"):
        board = Board.objects.filter(pk=pk).first()
        if board is None:
            return None
        if kind == "opened":
            moves = moves.filter(to_board=board, from_board__isnull=True)
            title, description = f"Opened on {board.name}", "Tickets that arrived on this board as new tickets"
        else:
            # The move that closed each ticket resolved here in the period and
            # still closed: the ones the map's stub counts.
            moves = moves.filter(
                to_column__category=Column.Category.DONE,
                ticket__board=board,
                ticket__resolved_at__gte=query.start,
                ticket__resolved_at__lt=query.end,
                created_at=F("ticket__resolved_at"),
            )
            title, description = f"Resolved on {board.name}", "Tickets closed on this board, and still closed"
    else:
        return None
    total = moves.count()
    page = list(
        moves.select_related("ticket", "from_board", "to_board", "to_column", "actor", "criterion").order_by(
            "-created_at", "-pk"
        )[:ARROW_LIMIT]
    )
    return ArrowMoves(kind=kind, title=title, description=description, total=total, moves=page)
