"""Is the map sound? Checks over the live boards, columns, criteria and technicians.

``check_map()`` loads the desk's structure in a fixed handful of queries (never
one per board or criterion) and runs each rule, a plain function over that data.
It returns Findings, the most serious first; the Flow page lists them and admin
shows them when a criterion, board, column or technician is saved
(``admin_messages``).

Words the rules use:

* A *position* is a (board, tier) a ticket can stand at. Criteria with an empty
  from-board or from-tier apply at many; the rules that need exact answers walk
  every board at every tier from 1 to one past the highest tier anyone names
  (that last one stands for "any higher tier"), and ask ``Criterion.applies_to``
  and ``routing.services.time_criterion_for`` — the same code the move service
  and the sweep use — what happens there.
* A board *edge* A → B exists when an active criterion can move a ticket from A
  to another board B (an empty from-board means every board but B).
* *Automatic* criteria are time criteria (the scheduler) and condition criteria
  (a ticket fact); manual ones need a person to choose them.

Two deliberate choices, explained in the findings too:

* "Nothing reaches a board": boards are also where tickets are opened — by a
  person, the request form or a monitoring alert — so a board no criterion
  leads to is a legitimate front door. It is flagged only when, besides, no
  ticket has ever arrived on it (no Move leads there): a board in name only.
* "Nobody works tier N": a technician works their own tier and every tier below
  it, so tier N on a board is staffed when an active technician of tier N or
  higher works that board. Tiers are checked where criteria send tickets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from boards.models import Board, Column, Skill, Technician, Ticket
from routing.models import PRIORITY_LIMIT_FIELDS, Criterion, Direction, Move
from routing.services import time_criterion_for

PROBLEM = "problem"
WARNING = "warning"
_SEVERITY_ORDER = {PROBLEM: 0, WARNING: 1}
# Ticket priorities: time limits are compared priority by priority (Criterion.limit_for).
PRIORITIES = tuple(PRIORITY_LIMIT_FIELDS)
# How many findings about the object just saved admin shows in full.
ADMIN_MESSAGE_LIMIT = 5


@dataclass(frozen=True)
class Finding:
    rule: str  # a stable id, e.g. "dead-end"
    severity: str  # "problem" or "warning"
    title: str  # one line, plain words
    explanation: str  # why it matters, in the framework's terms
    fix_url: str = ""  # where to fix it (usually an admin change page)
    fix_label: str = ""
    # What the finding is about, as "board:3", "criterion:7", "skill:2" and
    # "staff" (who works where): admin shows first what concerns the object saved.
    about: frozenset[str] = field(default=frozenset(), compare=False)


# --- The desk's structure, loaded once -----------------------------------------


@dataclass
class Desk:
    boards: list[Board]  # each with .received (a ticket has ever arrived) and .column_list
    criteria: list[Criterion]  # active ones, with their boards and column loaded
    tiers: list[int]  # 1 … one past the highest tier anyone names
    staff: dict[int, list[int]]  # board pk → the tiers of the active technicians who work it
    skills: list[Skill]  # each with .holders: how many active technicians have it

    def __post_init__(self) -> None:
        self.board = {b.pk: b for b in self.boards}

    def positions(self) -> Iterable[tuple[Board, int]]:
        for board in self.boards:
            for tier in self.tiers:
                yield board, tier


def load_desk() -> Desk:
    """Everything the rules read, in six queries whatever the size of the desk."""
    boards = list(
        Board.objects.annotate(received=Exists(Move.objects.filter(to_board=OuterRef("pk")))).order_by(
            "position", "name"
        )
    )
    columns: dict[int, list[Column]] = defaultdict(list)
    for column in Column.objects.order_by("position", "pk"):
        columns[column.board_id].append(column)
    for board in boards:
        board.column_list = columns[board.pk]

    criteria = list(
        Criterion.objects.active().select_related("from_board", "to_board", "to_column").order_by("position", "pk")
    )

    staff: dict[int, list[int]] = defaultdict(list)
    for board_id, tier in Technician.boards.through.objects.filter(technician__user__is_active=True).values_list(
        "board_id", "technician__tier"
    ):
        staff[board_id].append(tier)
    holders: dict[int, int] = defaultdict(int)
    for (skill_id,) in Technician.skills.through.objects.filter(technician__user__is_active=True).values_list(
        "skill_id"
    ):
        holders[skill_id] += 1
    skills = list(Skill.objects.order_by("name"))
    for skill in skills:
        skill.holders = holders[skill.pk]

    named = [1, *(t for tiers in staff.values() for t in tiers)]
    named += [t for c in criteria for t in (c.from_tier, c.to_tier) if t is not None]
    tiers = list(range(1, max(named) + 2))
    return Desk(boards=boards, criteria=criteria, tiers=tiers, staff=staff, skills=skills)


# --- Small helpers -------------------------------------------------------------


def _q(name: object) -> str:
    return f"“{name}”"


def _names(items: Iterable[object]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _criterion_url(criterion: Criterion) -> str:
    return reverse("admin:routing_criterion_change", args=[criterion.pk])


def _board_url(board: Board) -> str:
    return reverse("admin:boards_board_change", args=[board.pk])


def _new_criterion_url(**initial: object) -> str:
    # The admin's add form takes initial values from the query string.
    return reverse("admin:routing_criterion_add") + "?" + urlencode(initial)


def _technicians_url(**filters: object) -> str:
    url = reverse("admin:boards_technician_changelist")
    return url + ("?" + urlencode(filters) if filters else "")


def _origins(desk: Desk, criterion: Criterion) -> list[Board]:
    if criterion.from_board_id is None:
        return desk.boards
    board = desk.board.get(criterion.from_board_id)
    return [board] if board else []


def _board_edges(desk: Desk, criteria: Iterable[Criterion]) -> list[tuple[Board, Board, Criterion]]:
    """(from, to, criterion) for every criterion that can change a ticket's board."""
    edges = []
    for criterion in criteria:
        if criterion.to_board_id is None:
            continue
        target = desk.board.get(criterion.to_board_id)
        for origin in _origins(desk, criterion):
            if target is not None and origin.pk != target.pk:
                edges.append((origin, target, criterion))
    return edges


def _where(board: Board, tier: int, last_tier: int) -> str:
    return f"{board.name} · tier {tier}{' and up' if tier == last_tier else ''}"


# --- The rules -----------------------------------------------------------------


def dead_ends(desk: Desk) -> list[Finding]:
    """Boards tickets arrive on but no criterion leads away from.

    Arriving means a criterion leads there (a problem: the map itself traps
    tickets) or tickets have been opened there (a warning: a queue of its own,
    outside the flow, may be meant). An empty desk of one board has no flow.
    """
    if len(desk.boards) < 2:
        return []
    edges = _board_edges(desk, desk.criteria)
    leaves = {a.pk for a, _, _ in edges}
    arrivals: dict[int, list[Criterion]] = defaultdict(list)
    for _, b, criterion in edges:
        if criterion not in arrivals[b.pk]:
            arrivals[b.pk].append(criterion)
    findings = []
    for board in desk.boards:
        if board.pk in leaves:
            continue
        fix = {
            "fix_url": _new_criterion_url(from_board=board.pk, direction=Direction.DE_ESCALATE),
            "fix_label": f"Add a criterion out of {board.name}",
        }
        arriving = arrivals.get(board.pk)
        if arriving:
            findings.append(
                Finding(
                    "dead-end",
                    PROBLEM,
                    f"{board.name} is a dead end",
                    f"Tickets arrive on {board.name} ({_names(_q(c) for c in arriving)} send them there) but no "
                    f"criterion moves them on: once there, a ticket can only be resolved on {board.name}, however "
                    "wrong the board turns out to be. Add a de-escalation or transfer out of it, so the work goes "
                    "back to the team it belongs to when the deep part is done.",
                    about=frozenset({f"board:{board.pk}", *(f"criterion:{c.pk}" for c in arriving)}),
                    **fix,
                )
            )
        elif board.received:
            findings.append(
                Finding(
                    "dead-end",
                    WARNING,
                    f"Tickets opened on {board.name} can never leave it",
                    f"No criterion moves tickets from {board.name} to another board, so a ticket opened there "
                    f"can only be resolved there. If {board.name} is a queue of its own, outside the escalation "
                    "flow, that is fine; otherwise add a criterion out of it.",
                    about=frozenset({f"board:{board.pk}"}),
                    **fix,
                )
            )
    return findings


def unreached_boards(desk: Desk) -> list[Finding]:
    """Boards no criterion leads to and no ticket has ever arrived on.

    A board without criteria leading in is still a front door, where tickets
    are opened directly; only a board that has never had a ticket is flagged.
    """
    if len(desk.boards) < 2:
        return []
    reached = {b.pk for _, b, _ in _board_edges(desk, desk.criteria)}
    return [
        Finding(
            "unreached",
            WARNING,
            f"Nothing reaches {board.name}",
            f"No criterion leads to {board.name} and no ticket has ever been opened there. A board without "
            "criteria leading in is fine as a front door, where tickets are opened directly (by a technician, "
            f"the request form or a monitoring alert), but {board.name} has not received a single ticket. "
            "Add a criterion that sends the work that belongs there, open tickets on it, or remove the board.",
            fix_url=_new_criterion_url(to_board=board.pk),
            fix_label=f"Add a criterion leading to {board.name}",
            about=frozenset({f"board:{board.pk}"}),
        )
        for board in desk.boards
        if board.pk not in reached and not board.received
    ]


def no_way_back(desk: Desk) -> list[Finding]:
    """Escalations with no way back down.

    1. A board escalation A → B has a way back when de-escalations and
       transfers (any trigger) lead from B to A, or to a board *below* A — one
       whose escalations lead up to A. Several steps may be needed. Boards
       only: a way back for some tiers is a way back. When nothing at all
       leaves B, ``dead_ends`` reports it instead (one finding, not two).
    2. A tier escalation on one board (to tier N, same board) has a way back
       when some de-escalation or transfer applies to a tier-N ticket there.
       A technician can always lower a tier by hand, so this is a warning.
    """
    up = _board_edges(desk, (c for c in desk.criteria if c.direction == Direction.ESCALATE))
    down_next: dict[int, set[int]] = defaultdict(set)
    for a, b, _ in _board_edges(desk, (c for c in desk.criteria if c.direction != Direction.ESCALATE)):
        down_next[a.pk].add(b.pk)
    up_prev: dict[int, set[int]] = defaultdict(set)
    for a, b, _ in up:
        up_prev[b.pk].add(a.pk)

    def closure(start: int, step: dict[int, set[int]]) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in step[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    leaves = {a.pk for a, _, _ in _board_edges(desk, desk.criteria)}
    stranded: dict[tuple[int, int], list[Board]] = defaultdict(list)  # (criterion, to board) → origins
    escalation = {}
    for a, b, criterion in up:
        if b.pk not in leaves:
            continue  # nothing leaves B at all: dead_ends says so, and names this criterion
        escalation[criterion.pk] = criterion
        home = closure(a.pk, up_prev)  # A and every board below it
        if not (closure(b.pk, down_next) - {b.pk}) & home:
            stranded[(criterion.pk, b.pk)].append(a)

    findings = []
    for (criterion_pk, b_pk), origins in stranded.items():
        criterion, b = escalation[criterion_pk], desk.board[b_pk]
        back_to = origins[0] if len(origins) == 1 else None
        findings.append(
            Finding(
                "no-way-back",
                PROBLEM,
                f"No way back from {b.name} to {_names(o.name for o in origins)}",
                f"{_q(criterion)} escalates tickets from {_names(o.name for o in origins)} to {b.name}, but no "
                f"de-escalation or transfer ever brings them back down. The framework calls this the part "
                f"everyone forgets: when the deep work on {b.name} is done (the onsite visit, the senior fix), "
                "the rest belongs to the team whose core work it is, not on the senior board. Add a de-escalation "
                f"from {b.name}, such as “Onsite complete” or “User error discovered”.",
                fix_url=_new_criterion_url(
                    direction=Direction.DE_ESCALATE,
                    from_board=b.pk,
                    **({"to_board": back_to.pk} if back_to else {}),
                ),
                fix_label=f"Add a de-escalation from {b.name}",
                about=frozenset({f"criterion:{criterion.pk}", f"board:{b.pk}", *(f"board:{o.pk}" for o in origins)}),
            )
        )

    coming_down = [c for c in desk.criteria if c.direction != Direction.ESCALATE]
    for criterion in desk.criteria:
        if criterion.direction != Direction.ESCALATE or criterion.to_tier is None:
            continue
        if criterion.to_board_id and criterion.to_board_id != criterion.from_board_id:
            continue  # a board escalation, handled above
        tier = criterion.to_tier
        boards = [b for b in _origins(desk, criterion) if any(criterion.applies_to(b, t) for t in desk.tiers)]
        lacking = [b for b in boards if not any(c.applies_to(b, tier) for c in coming_down)]
        if lacking:
            names = _names(b.name for b in lacking)
            findings.append(
                Finding(
                    "no-way-back",
                    WARNING,
                    f"Nothing brings tier {tier} tickets on {names} back down",
                    f"{_q(criterion)} raises tickets on {names} to tier {tier}, but no de-escalation or transfer "
                    f"applies to a tier {tier} ticket there. A technician can still lower the tier by hand, but "
                    "no criterion says when the senior work is done and the ticket should go back down.",
                    fix_url=_new_criterion_url(
                        direction=Direction.DE_ESCALATE, from_board=lacking[0].pk, from_tier=tier
                    ),
                    fix_label=f"Add a de-escalation from tier {tier}",
                    about=frozenset({f"criterion:{criterion.pk}", *(f"board:{b.pk}" for b in lacking)}),
                )
            )
    return findings


def _automatic_moves(desk: Desk, board: Board, tier: int, time_criteria: list[Criterion], priority: int | None = None):
    """The criteria that may move a ticket of this priority at this position without a person choosing."""
    moves = [c for c in desk.criteria if c.trigger == Criterion.Trigger.CONDITION and c.applies_to(board, tier)]
    timed = time_criterion_for(board, tier, time_criteria, priority)
    return [*moves, timed] if timed else moves


def _priority_names(priorities: Iterable[int]) -> str:
    """ "P1", "P1 and P2", "P1, P3 and P4"."""
    return _names(f"P{p}" for p in sorted(priorities))


def _minutes_for(criterion: Criterion, priorities: Iterable[int]) -> str:
    """The criterion's limit in minutes for these priorities: "30", or "10 (P1) or 30 (P2, P3 and P4)"."""
    by_limit: dict[int, list[int]] = defaultdict(list)
    for p in sorted(priorities):
        by_limit[criterion.limit_for(p)].append(p)
    if len(by_limit) == 1:
        return str(next(iter(by_limit)))
    return " or ".join(f"{m} ({_priority_names(ps)})" for m, ps in by_limit.items())


def bounces(desk: Desk) -> list[Finding]:
    """Two automatic criteria that can send a ticket back and forth.

    At every position P and for every priority, for each automatic criterion X
    that moves a ticket of that priority to Q, and each automatic criterion Y
    that moves it on from Q: if Y brings it back to P's board at a tier where X
    applies again, the pair bounces (a ticket keeps its priority through a
    move, so both limits are that priority's). Two time criteria (only the one
    that fires first for a position and priority counts) or two conditions on
    the same fact are a problem: nothing a person does stops them. A mix, or
    two different facts, is a warning: it bounces only while both facts hold,
    and a condition is re-checked when someone edits a fact.
    """
    time_criteria = [c for c in desk.criteria if c.trigger == Criterion.Trigger.TIME]
    # Each pair once, in the orientation first found, with the priorities it bounces.
    found: dict[frozenset[int], tuple[Criterion, Criterion, Board, Board, set[int]]] = {}
    cache: dict[tuple[int, int, int], list[Criterion]] = {}

    def automatic(board: Board, tier: int, priority: int) -> list[Criterion]:
        key = (board.pk, tier, priority)
        if key not in cache:
            cache[key] = _automatic_moves(desk, board, tier, time_criteria, priority)
        return cache[key]

    last = desk.tiers[-1]
    for board, tier in desk.positions():
        for priority in PRIORITIES:
            for x in automatic(board, tier, priority):
                q_board, q_tier = x.destination(board, tier)
                q_tier = min(q_tier, last)
                for y in automatic(desk.board[q_board.pk], q_tier, priority):
                    if y.pk == x.pk:
                        continue
                    r_board, r_tier = y.destination(q_board, q_tier)
                    if r_board.pk != board.pk or not x.applies_to(board, min(r_tier, last)):
                        continue
                    pair = frozenset({x.pk, y.pk})
                    if pair not in found:
                        found[pair] = (x, y, board, desk.board[q_board.pk], set())
                    found[pair][4].add(priority)
    return [_bounce_finding(x, y, a, b, priorities) for x, y, a, b, priorities in found.values()]


def _bounce_finding(x: Criterion, y: Criterion, a: Board, b: Board, priorities: set[int] | None = None) -> Finding:
    time, condition = Criterion.Trigger.TIME, Criterion.Trigger.CONDITION
    priorities = set(PRIORITIES) if priorities is None else priorities
    # Name the priorities when the pair bounces only some (a limit for some priorities only).
    some = "" if priorities >= set(PRIORITIES) else f"{_priority_names(priorities)} "
    between = f"between {a.name} and {b.name}" if a.pk != b.pk else f"between tiers on {a.name}"
    if x.trigger == y.trigger == time:
        severity = PROBLEM
        why = (
            f"{'For ' + some + 'tickets: a' if some else 'A'}fter {_minutes_for(x, priorities)} active minutes "
            f"{_q(x)} moves a ticket on, and after {_minutes_for(y, priorities)} active minutes there {_q(y)} "
            "sends it straight back — and so on, for ever, without anyone deciding anything. Make the way back a "
            "manual criterion, so a person says when."
        )
    elif x.trigger == y.trigger == condition and x.condition == y.condition:
        severity = PROBLEM
        why = (
            f"Both fire on the same fact ({x.get_condition_display().lower()}): while it holds, the ticket is "
            f"sent away from whichever of the two it is on, each time someone edits its facts. Make one of "
            "them manual, or point both at the board that should own that work."
        )
    else:
        severity = WARNING
        timed = next((c for c in (x, y) if c.trigger == time), None)
        limits = ""
        if timed is not None:
            only = f", for {some.strip()} tickets" if some else ""
            limits = f" ({_q(timed)} after {_minutes_for(timed, priorities)} active minutes{only})"
        why = (
            f"{_q(x)} ({x.get_trigger_display().split(' — ')[0].lower()}) moves tickets one way and {_q(y)} "
            f"({y.get_trigger_display().split(' — ')[0].lower()}) moves them back, both without a person "
            f"choosing{limits}. A ticket for which both hold goes back and forth. Make sure they cannot both be "
            "true, or make one of them manual."
        )
    return Finding(
        "bounce",
        severity,
        f"{_q(x)} and {_q(y)} can bounce {some}tickets {between}",
        why,
        fix_url=_criterion_url(y),
        fix_label=f"Edit {_q(y)}",
        about=frozenset({f"criterion:{x.pk}", f"criterion:{y.pk}", f"board:{a.pk}", f"board:{b.pk}"}),
    )


def shadowed_time_limits(desk: Desk) -> list[Finding]:
    """Time limits that never fire: wherever they apply, another fires first.

    Every time criterion counts the same clock (active minutes on the board),
    so at each position the shortest limit *for the ticket's priority* wins,
    and on a tie the one listed first — ``routing.services.time_criterion_for``
    decides, as for the sweep, once per priority (a P1 limit of 10 on one
    criterion beats another's general 30 for P1 tickets only). Two findings:

    1. a criterion that fires for no priority anywhere it applies can never fire;
    2. a criterion that does fire, but whose own limit for a priority never
       does (another criterion's limit for that priority is always shorter):
       that priority's limit is dead weight. A general limit beaten for one
       priority only is not reported: a faster lane for P1 is what a
       priority's own limit on another criterion is for.
    """
    time_criteria = [c for c in desk.criteria if c.trigger == Criterion.Trigger.TIME]
    applies: dict[int, list[tuple[Board, int]]] = defaultdict(list)
    fires: dict[int, set[int]] = defaultdict(set)  # criterion → priorities it fires for somewhere
    # criterion → priority → the criteria that fire first where it applies with a limit for that priority
    winners: dict[int, dict[int, dict[int, Criterion]]] = defaultdict(lambda: defaultdict(dict))
    for board, tier in desk.positions():
        here = [c for c in time_criteria if c.applies_to(board, tier)]
        if not here:
            continue
        for criterion in here:
            applies[criterion.pk].append((board, tier))
        for priority in PRIORITIES:
            winner = time_criterion_for(board, tier, here, priority)
            if winner is None:
                continue
            fires[winner.pk].add(priority)
            for criterion in here:
                if criterion.limit_for(priority):
                    winners[criterion.pk][priority][winner.pk] = winner
    findings = []
    last = desk.tiers[-1]
    for criterion in time_criteria:
        limited = winners.get(criterion.pk)
        if not limited:
            continue
        never = sorted(p for p in limited if p not in fires[criterion.pk])
        if len(never) == len(limited):
            shadowed, title = never, f"{_q(criterion)} can never fire"
        else:
            shadowed = [p for p in never if p in criterion.priority_limits]
            if not shadowed:
                continue
            s = "s" if len(shadowed) > 1 else ""
            title = f"{_q(criterion)}'s {_priority_names(shadowed)} limit{s} can never fire"
        where = _names(_where(b, t, last) for b, t in applies[criterion.pk][:4])
        if len(applies[criterion.pk]) > 4:
            where += " and more"
        first = {w.pk: w for p in shadowed for w in limited[p].values()}
        tie = any(w.limit_for(p) == criterion.limit_for(p) for p in shadowed for w in limited[p].values())
        findings.append(
            Finding(
                "shadowed",
                WARNING,
                title,
                _shadowed_text(criterion, shadowed, limited, where, tie, whole=len(never) == len(limited)),
                fix_url=_criterion_url(criterion),
                fix_label=f"Edit {_q(criterion)}",
                about=frozenset({f"criterion:{criterion.pk}", *(f"criterion:{pk}" for pk in first)}),
            )
        )
    return findings


def _shadowed_text(
    criterion: Criterion,
    shadowed: list[int],
    limited: dict[int, dict[int, Criterion]],
    where: str,
    tie: bool,
    *,
    whole: bool,
) -> str:
    """Which limit fires first, priority by priority where they differ: "“Quick” (30 min) fires first", or
    "for P1, “Quick” (5 min) fires before its 10 min; for P2, P3 and P4, “Quick” (20 min) fires before its 45 min"."""
    # Priorities with the same story (the same limit here, the same winners at the same limits) go together.
    stories: dict[tuple, list[int]] = defaultdict(list)
    for p in shadowed:
        story = (criterion.limit_for(p), tuple((w.pk, w.limit_for(p)) for w in limited[p].values()))
        stories[story].append(p)
    rule = (
        "Every time limit counts the same clock of active minutes on the board, so the shortest for the "
        f"ticket's priority always wins{' and, on a tie, the one listed first' if tie else ''}."
    )
    every = set(shadowed) >= set(PRIORITIES)
    if len(stories) == 1 and (every or not whole):
        (own, _), ps = next(iter(stories.items()))
        winners = _names(f"{_q(w)} ({w.limit_for(ps[0])} min)" for w in limited[ps[0]].values())
        if whole:
            return (
                f"Wherever {_q(criterion)} ({criterion.describe_limit()}) applies ({where}), {winners} fires "
                f"first. {rule} Shorten this limit, narrow the other criterion to other boards or tiers, or "
                "switch this one off."
            )
        names = _priority_names(ps)
        return (
            f"For {names} tickets, wherever {_q(criterion)} applies ({where}), {winners} fires before its own "
            f"{names} limit of {own} min. {rule} Shorten {_q(criterion)}'s {names} limit, or remove it."
        )
    parts = []
    for (own, _), ps in stories.items():
        winners = _names(f"{_q(w)} ({w.limit_for(ps[0])} min)" for w in limited[ps[0]].values())
        parts.append(f"for {_priority_names(ps)}, {winners} fires before its {own} min")
    advice = (
        "Shorten these limits, narrow the other criteria to other boards or tiers, or switch this one off."
        if whole
        else f"Shorten {_q(criterion)}'s limits for those priorities, or remove them."
    )
    which = "every priority it has a limit for" if whole else f"its own {_priority_names(shadowed)} limits"
    return (
        f"Wherever {_q(criterion)} ({criterion.describe_limit()}) applies ({where}), another limit fires first "
        f"for {which}: {'; '.join(parts)}. {rule} {advice}"
    )


def no_effect(desk: Desk) -> list[Finding]:
    """Active criteria that apply at no position: their destination is always where the ticket is."""
    return [
        Finding(
            "no-effect",
            WARNING,
            f"{_q(c)} never moves a ticket",
            f"Every ticket {_q(c)} could apply to is already where it would send it "
            f"({c.to_board.name if c.to_board_id else 'the same board'}"
            f"{f', tier {c.to_tier}' if c.to_tier is not None else ''}), so it never fires and is never offered. "
            "Check its from and to.",
            fix_url=_criterion_url(c),
            fix_label=f"Edit {_q(c)}",
            about=frozenset({f"criterion:{c.pk}"}),
        )
        for c in desk.criteria
        if not any(c.applies_to(b, t) for b, t in desk.positions())
    ]


def _landing_column(board: Board) -> Column | None:
    """Where a ticket lands on arrival; the same choice as ``Board.entry_column``, on loaded columns."""
    new = [c for c in board.column_list if c.category == Column.Category.NEW]
    return (new or board.column_list or [None])[0]


def receiving_columns(desk: Desk) -> list[Finding]:
    """Boards criteria send tickets to that cannot take them, or that close them on arrival."""
    sent: dict[int, list[Criterion]] = defaultdict(list)
    for _, b, criterion in _board_edges(desk, desk.criteria):
        if criterion not in sent[b.pk]:
            sent[b.pk].append(criterion)
    findings = []
    for board in desk.boards:
        criteria = sent.get(board.pk, [])
        about = frozenset({f"board:{board.pk}", *(f"criterion:{c.pk}" for c in criteria)})
        fix = {"fix_url": _board_url(board), "fix_label": f"Edit {board.name}'s columns"}
        if not board.column_list:
            if criteria:
                explanation = (
                    f"{_names(_q(c) for c in criteria)} send{'s' if len(criteria) == 1 else ''} tickets to "
                    f"{board.name}, but it has no columns, so the move fails: a technician gets an error and "
                    "the scheduler leaves the ticket where it is, past its limit. Add a “New” column."
                )
            else:
                explanation = f"No ticket can be opened on {board.name} until it has a column. Add a “New” column."
            findings.append(
                Finding(
                    "no-column",
                    PROBLEM if criteria else WARNING,
                    f"{board.name} has no column to receive tickets",
                    explanation,
                    about=about,
                    **fix,
                )
            )
            continue
        for criterion in criteria:
            column = criterion.to_column if criterion.to_column_id else _landing_column(board)
            if column.category == Column.Category.DONE:
                findings.append(
                    Finding(
                        "no-column",
                        WARNING,
                        f"{_q(criterion)} closes tickets as it moves them",
                        f"Tickets {_q(criterion)} sends to {board.name} land in “{column.name}”, a Done column, "
                        "so they are resolved on arrival and nobody on the board sees them. Give the board a "
                        "“New” column (the first one receives tickets), or send them to another column.",
                        fix_url=_criterion_url(criterion) if criterion.to_column_id else _board_url(board),
                        fix_label=f"Edit {_q(criterion)}" if criterion.to_column_id else fix["fix_label"],
                        about=about,
                    )
                )
    return findings


def staffing(desk: Desk) -> list[Finding]:
    """Boards and tiers no active technician works.

    A board nobody works is a problem whatever sends tickets there. A tier is
    checked where a criterion sends tickets: tier N on board B needs an active
    technician on B of tier N or higher (a technician's tier is the highest
    they work; they take the tiers below too).
    """
    findings = []
    for board in desk.boards:
        if not desk.staff.get(board.pk):
            findings.append(
                Finding(
                    "unstaffed",
                    PROBLEM,
                    f"Nobody works {board.name}",
                    f"No active technician has {board.name} among their boards, so tickets there wait for nobody, "
                    "and nobody sees them on their boards. Give at least one technician the board.",
                    fix_url=_technicians_url(),
                    fix_label="Assign technicians",
                    about=frozenset({f"board:{board.pk}", "staff"}),
                )
            )

    sends: dict[tuple[int, int], list[Criterion]] = defaultdict(list)
    for board, tier in desk.positions():
        # A ticket above every tier its board works is already stranded there;
        # only what a criterion names explicitly is checked beyond that.
        worked = max(desk.staff.get(board.pk) or [1])
        for criterion in desk.criteria:
            if tier > worked and criterion.from_tier != tier:
                continue
            if criterion.applies_to(board, tier):
                to_board, to_tier = criterion.destination(board, tier)
                if criterion.to_tier is not None or to_board.pk != board.pk:
                    key = (to_board.pk, min(to_tier, desk.tiers[-1]))
                    if criterion not in sends[key]:
                        sends[key].append(criterion)
    for (board_pk, tier), criteria in sorted(sends.items()):
        tiers = desk.staff.get(board_pk)
        if not tiers or max(tiers) >= tier:
            continue  # an unstaffed board is reported once, above
        board = desk.board[board_pk]
        findings.append(
            Finding(
                "unstaffed",
                PROBLEM,
                f"Nobody works tier {tier} on {board.name}",
                f"{_names(_q(c) for c in criteria[:3])}{' and others' if len(criteria) > 3 else ''} send tickets to "
                f"{board.name} at tier {tier}, but the most senior active technician there is tier {max(tiers)} "
                "(a technician works their own tier and every tier below it). Those tickets wait for someone who "
                f"is not there. Give a tier {tier} technician the {board.name} board, or send the tickets to a "
                "lower tier.",
                fix_url=_technicians_url(boards__id__exact=board.pk),
                fix_label=f"{board.name}'s technicians",
                about=frozenset({f"board:{board.pk}", "staff", *(f"criterion:{c.pk}" for c in criteria)}),
            )
        )
    return findings


def skills_nobody_has(desk: Desk) -> list[Finding]:
    """Skills no active technician has: a problem once open tickets require one."""
    missing = [s for s in desk.skills if not s.holders]
    if not missing:
        return []
    needed = dict(
        Ticket.required_skills.through.objects.filter(
            skill__in=[s.pk for s in missing], ticket__resolved_at__isnull=True
        )
        .values("skill_id")
        .annotate(n=Count("ticket_id"))
        .values_list("skill_id", "n")
    )
    findings = []
    idle = [skill for skill in missing if not needed.get(skill.pk)]
    for skill in missing:
        count = needed.get(skill.pk, 0)
        if not count:
            continue
        findings.append(
            Finding(
                "missing-skill",
                PROBLEM,
                f"Nobody has the skill “{skill.name}”",
                f"{count} open ticket{'s' if count != 1 else ''} require{'s' if count == 1 else ''} "
                f"“{skill.name}”, but no active technician has it, so no board can do the work: escalating "
                "for a missing skill only moves the ticket to another board that lacks it too. Give the skill "
                "to someone who has it.",
                fix_url=_technicians_url(),
                fix_label="Edit technicians' skills",
                about=frozenset({f"skill:{skill.pk}", "staff"}),
            )
        )
    if idle:
        # One warning for every skill no open ticket needs yet: a list, not a wall of cards.
        names = ", ".join(f"“{skill.name}”" for skill in idle)
        findings.append(
            Finding(
                "missing-skill",
                WARNING,
                f"Nobody has the skill {names}" if len(idle) == 1 else f"Nobody has {len(idle)} skills",
                f"No active technician has {names}. No open ticket needs "
                f"{'it' if len(idle) == 1 else 'them'} yet, but the first one that does will have nowhere to go. "
                f"Give {'it' if len(idle) == 1 else 'each'} to someone, or remove "
                f"{'it' if len(idle) == 1 else 'those'} the desk no longer offers.",
                fix_url=_technicians_url(),
                fix_label="Edit technicians' skills",
                about=frozenset({*(f"skill:{skill.pk}" for skill in idle), "staff"}),
            )
        )
    return findings


RULES = [
    dead_ends,
    unreached_boards,
    no_way_back,
    bounces,
    shadowed_time_limits,
    no_effect,
    receiving_columns,
    staffing,
    skills_nobody_has,
]


def check_map(desk: Desk | None = None) -> list[Finding]:
    """Every rule's findings, problems first (each rule's own order kept)."""
    desk = desk or load_desk()
    findings = [finding for rule in RULES for finding in rule(desk)]
    return sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity])


# --- Admin ---------------------------------------------------------------------


def admin_messages(request: HttpRequest, about: Iterable[str]) -> list[Finding]:
    """After an admin save: the findings about what was saved, then a count of the rest.

    ``about`` names what the save touched ("criterion:7", "board:3", "staff").
    Returns the findings, for the caller's tests.
    """
    findings = check_map()
    about = set(about)
    mine = [f for f in findings if f.about & about][:ADMIN_MESSAGE_LIMIT]
    for f in mine:
        label = "Problem" if f.severity == PROBLEM else "Warning"
        if f.fix_url:
            text = format_html(
                '<strong>{}: {}.</strong> {} <a href="{}">{}</a>', label, f.title, f.explanation, f.fix_url, f.fix_label
            )
        else:
            text = format_html("<strong>{}: {}.</strong> {}", label, f.title, f.explanation)
        messages.warning(request, text)
    rest = len(findings) - len(mine)
    if rest:
        messages.info(
            request,
            format_html(
                'The map has {} {}{}: <a href="{}">see the Flow page</a>.',
                rest,
                "other " if mine else "",
                "finding" if rest == 1 else "findings",
                reverse("flow:page"),
            ),
        )
    return findings
