#!/usr/bin/env python
"""How long the server takes to draw the Flow page, and to replay a what-if, over a big Move log.

Seeds 100,000 tickets and about 1,000,000 moves spread over the last 90 days
(plus a note with logged minutes per ticket) with COPY, straight into the
tables — not through the services, which would take an hour — then times,
with Django's test client as a manager and no network:

- the Flow page (GET /flow/?range=30d and ?range=90d): median of several runs,
  with its SQL query count (which must not grow with the data), and the same
  for the gauges alone (``flow.gauges.compute``) so the parts can be told apart;
- the what-if replay of the last 30 days (the Tier 1 time limit 30 → 45 min).

The page reads the precomputed facts (flow.facts) that a beat task keeps up
to date in production; after seeding, the bench builds them once (a full
build, timed and printed), and also times a catch-up build with nothing new
(what the beat task costs each minute on a quiet desk).

The histories follow the live rules: Triage tickets run on the 30-active-minute
clock (waiting pauses it) and the scheduler escalates them when it runs out;
people escalate, de-escalate (user error, onsite complete) and transfer; some
tickets bounce; the youngest are still open.

Targets: page under 300 ms, what-if under 2 s. Figures only: nothing here fails
a build (see DESIGN.md, "bench/").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb_flowbench .venv/bin/python bench/flow.py
    … bench/flow.py --keep          # keep test_<name> and its data for the next run (seeding takes a while)
    … bench/flow.py --tickets 10000 # a smaller log

The data goes into ``test_<name>`` (created, and destroyed unless --keep); the
configured database itself is never touched. PostgreSQL only: the point is
the production engine's plans.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _setup

TARGETS_MS = {"page": 300, "what-if": 2000}
DAYS = 90
MIN = 60.0  # seconds


class Desk:
    """The seed's boards, columns and criteria by name, for the generator."""

    def __init__(self, boards, criteria):
        from boards.models import Column

        self.boards = boards
        self.criteria = criteria
        self.col = {(slug, c.name): c for slug, board in boards.items() for c in Column.objects.filter(board=board)}
        self.runs = {c.pk: c.clock_runs for c in self.col.values()}

    def column(self, slug: str, name: str):
        return self.col[(slug, name)]


def _life(rng: random.Random, desk: Desk, ticket_id: int, opened: float, now: float, people: dict[int, list[int]]):
    """One ticket's moves, as the live system would have written them; returns (moves, final state).

    A move is (ticket, from board, to board, from column, to column, from tier,
    to tier, direction, criterion, actor, time) with ids and epoch seconds.
    """
    crit = desk.criteria
    limit = crit["Tier 1 time limit"].time_limit_minutes * MIN
    roll = rng.random()
    board = "triage" if roll < 0.7 else "noc" if roll < 0.95 else "support"
    tier = 2 if board == "support" else 1
    column = desk.column(board, "New")
    moves = []
    state = {"board": board, "column": column, "tier": tier, "t": opened, "bank": 0.0, "entered": opened}
    opener = None if board == "noc" and rng.random() < 0.5 else rng.choice(people[1])
    moves.append((ticket_id, None, desk.boards[board].pk, None, column.pk, None, tier, "", None, opener, opened))

    def go(to_board, to_column, to_tier, when, direction="", criterion=None, actor=None):
        if desk.runs[state["column"].pk]:
            state["bank"] += when - state["t"]
        if to_board != state["board"]:
            state["bank"] = 0.0
            state["entered"] = when
        moves.append(
            (
                ticket_id,
                desk.boards[state["board"]].pk,
                desk.boards[to_board].pk,
                state["column"].pk,
                to_column.pk,
                state["tier"],
                to_tier,
                direction,
                criterion.pk if criterion else None,
                actor,
                when,
            )
        )
        state.update(board=to_board, column=to_column, tier=to_tier, t=when)

    def person(tier: int) -> int:
        return rng.choice(people[min(tier, 3)])

    def step(minutes: float, running: bool) -> bool:
        """Stay in the current column ``minutes`` (exponential); False when the clock ran out or now came."""
        when = state["t"] + rng.expovariate(1 / (minutes * MIN))
        on_clock = state["board"] == "triage" and state["tier"] == 1
        if running and on_clock and state["bank"] + (when - state["t"]) >= limit:
            deadline = state["t"] + (limit - state["bank"])
            if deadline < now:  # the sweep fires it (a few seconds late, as it really does)
                fire = min(deadline + rng.uniform(1, 8), now - 1)
                go("support", desk.column("support", "New"), 2, fire, "escalate", crit["Tier 1 time limit"])
                return False
        if when >= now:
            state["t_stop"] = True
            return False
        state["pending"] = when
        return True

    stays = 0
    while stays < 5 and not state.get("t_stop"):
        stays += 1
        board = state["board"]
        fast = board == "triage"
        if not step(4 if fast else 30, True):
            continue
        go(board, desk.column(board, "In progress"), state["tier"], state["pending"], actor=person(state["tier"]))
        waiting = desk.column(board, "Waiting on vendor" if board == "noc" else "Waiting on customer")
        escalated = False
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4))):
            if not step(9 if fast else 60, True):
                escalated = not state.get("t_stop")
                break
            go(board, waiting, state["tier"], state["pending"], actor=person(state["tier"]))
            if not step(180, False):
                break
            go(board, desk.column(board, "In progress"), state["tier"], state["pending"], actor=person(state["tier"]))
        if escalated or state.get("t_stop"):
            continue
        if not step(7 if fast else 60, True):
            continue
        when, r = state["pending"], rng.random()
        actor = person(state["tier"])
        if board == "triage" and r < 0.15:
            go("support", desk.column("support", "New"), 2, when, "escalate", crit["Beyond this tier"], actor)
        elif board == "triage" and r < 0.2:
            go("support", desk.column("support", "New"), 2, when, "escalate", crit["Needs onsite visit"], actor)
        elif board == "support" and r < 0.25:
            go("triage", desk.column("triage", "New"), 1, when, "de-escalate", crit["User error discovered"], actor)
        elif board == "support" and r < 0.37:
            go("noc", desk.column("noc", "New"), 1, when, "de-escalate", crit["Onsite complete"], actor)
        elif board == "support" and r < 0.45 and state["tier"] == 2:
            go("support", state["column"], 3, when, "escalate", crit["Beyond this tier (Support tier 2 → 3)"], actor)
        elif board == "noc" and r < 0.12:
            go("triage", desk.column("triage", "New"), 1, when, "transfer", crit["User-facing follow-up"], actor)
        elif board == "noc" and r < 0.18:
            go(
                "support",
                desk.column("support", "New"),
                2,
                when,
                "escalate",
                crit["Needs onsite visit (from NOC)"],
                None,
            )
        else:
            go(board, desk.column(board, "Resolved"), state["tier"], when, actor=actor)
            break
    return moves, state


def seed(desk: Desk, tickets: int, now, rng: random.Random) -> tuple[int, int]:
    """COPY ``tickets`` tickets, their moves and a note each into the tables; returns (tickets, moves)."""
    from boards.models import Note, Ticket
    from routing.models import Criterion, Move
    from tests.factories import make_user

    people: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for n in range(30):
        tier = 1 + n % 3
        boards = [desk.boards["triage"]] if tier == 1 else [desk.boards["support"], desk.boards["noc"]]
        people[tier].append(make_user(f"bench{n}", tier=tier, boards=boards).pk)
    limit = timedelta(minutes=desk.criteria["Tier 1 time limit"].time_limit_minutes)
    t1 = desk.criteria["Tier 1 time limit"].pk
    end = now.timestamp()
    start = end - DAYS * 86400
    tz = now.tzinfo

    def ts(seconds: float):
        return now.fromtimestamp(seconds, tz)

    ticket_cols = [
        "id",
        "title",
        "description",
        "requester_name",
        "requester_email",
        "priority",
        "source",
        "board_id",
        "column_id",
        "tier",
        "version",
        "needs_onsite",
        "created_at",
        "updated_at",
        "resolved_at",
        "entered_board_at",
        "active_time",
        "clock_started_at",
        "deadline_at",
        "deadline_criterion_id",
    ]
    move_cols = [
        "ticket_id",
        "from_board_id",
        "to_board_id",
        "from_column_id",
        "to_column_id",
        "from_tier",
        "to_tier",
        "direction",
        "criterion_id",
        "actor_id",
        "note",
        "snapshot",
        "created_at",
    ]
    note_cols = ["ticket_id", "author_id", "body", "internal", "minutes_worked", "created_at", "resolution"]
    ticket_rows, move_rows, note_rows = [], [], []
    for pk in range(1, tickets + 1):
        opened = start + (end - start) * (pk - 1) / tickets + rng.uniform(0, 60)
        moves, state = _life(rng, desk, pk, opened, end, people)
        move_rows.extend((*m[:10], "", "{}", ts(m[10])) for m in moves)  # no snapshot: Move.why says less
        last = moves[-1][10]
        column = state["column"]
        resolved = ts(last) if column.is_done else None
        running = desk.runs[column.pk]
        bank = state["bank"]
        clock = ts(last) if running else None
        deadline = criterion = None
        if running and state["board"] == "triage" and state["tier"] == 1:
            deadline, criterion = ts(last) + limit - timedelta(seconds=bank), t1
        ticket_rows.append(
            (
                pk,
                f"Bench ticket {pk}",
                "",
                "",
                "",
                1 + pk % 4,
                "portal",
                desk.boards[state["board"]].pk,
                column.pk,
                state["tier"],
                len(moves),
                False,
                ts(opened),
                ts(last),
                resolved,
                ts(state["entered"]),
                timedelta(seconds=bank),
                clock,
                deadline,
                criterion,
            )
        )
        note_at = opened + (last - opened) * rng.random()
        tier = rng.choice((1, 1, 2, 3))
        note_rows.append((pk, rng.choice(people[tier]), "Worked on it", True, rng.randint(5, 90), ts(note_at), False))
    # Tuples, not copy_tickets' dicts: a million moves are held in memory already.
    _setup.copy_rows(Ticket, ticket_cols, ticket_rows)
    _setup.copy_rows(Move, move_cols, move_rows)
    _setup.copy_rows(Note, note_cols, note_rows)
    _setup.set_next_id(Ticket, tickets)
    assert Criterion.objects.exists()
    return tickets, len(move_rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database for the next run")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    _setup.setup()
    from django.http import QueryDict
    from django.test import Client
    from django.utils import timezone

    from boards.models import Ticket
    from boards.seed import seed_structure
    from flow import facts, gauges, whatif
    from flow.period import FlowQuery
    from routing.models import Move
    from tests.factories import make_user

    if not _setup.postgresql_only("bench/flow.py"):
        return 0

    with _setup.throwaway_database(reuse=args.keep, keep=args.keep):
        boards, criteria = seed_structure()
        desk = Desk(boards, criteria)
        seeded = 0.0
        if Ticket.objects.count() != args.tickets:
            if Ticket.objects.exists():
                print("The kept database holds another size; recreate it (run once without --keep).")
                return 2
            started = time.perf_counter()
            n_tickets, n_moves = seed(desk, args.tickets, timezone.now(), random.Random(args.seed))
            _setup.vacuum_analyze("boards_ticket", "routing_move", "boards_note")
            seeded = time.perf_counter() - started
        coverage = facts.Coverage.read()
        built = facts.build(full=not coverage.built or seeded > 0)
        assert built is not None, "another writer held the database: cannot build the facts"
        if built.tickets:
            # As autovacuum would after the first build (the facts' visibility map).
            _setup.vacuum_analyze("flow_ticketfact", "flow_boardtime", "flow_routingstep", "flow_noteposition")
        first_build = built
        catch_up = facts.build()
        manager = make_user(f"bench-manager-{int(time.time())}", manager=True)
        n_tickets, n_moves = Ticket.objects.count(), Move.objects.count()
        span = Move.objects.order_by("created_at").values_list("created_at", flat=True)
        first, last = span.first(), span.last()
        client = Client()
        client.force_login(manager)

        print(
            f"Flow benchmark · PostgreSQL · {n_tickets:,} tickets, {n_moves:,} moves "
            f"from {first:%d %b} to {last:%d %b %Y}" + (f" · seeded in {seeded:.0f} s" if seeded else " (kept)")
        )
        print(
            f"  facts: {'full build' if first_build.tickets else 'up to date'} "
            f"({first_build.tickets:,} tickets, {first_build.notes:,} notes) in {first_build.seconds:.1f} s; "
            f"a catch-up build with nothing new: {catch_up.seconds * 1000:.0f} ms"
        )
        print(f"  median of {args.runs} runs after a warm-up, server time through Django's test client")
        now = timezone.now()
        rows = []
        for key in ("30d", "90d"):
            routing = Move.objects.filter(gauges.ROUTING, created_at__gte=now - timedelta(days=int(key[:-1])))

            def page(key=key):
                response = client.get(f"/flow/?range={key}")
                assert response.status_code == 200, response.status_code

            query = FlowQuery.from_query(QueryDict(f"range={key}"), now)
            ms, count, _ = _setup.timed(page, args.runs, warm_up=False)
            g_ms, g_count, _ = _setup.timed(
                lambda query=query: gauges.compute(query, timezone.now()), args.runs, warm_up=False
            )
            moves_in = Move.objects.filter(created_at__gte=now - timedelta(days=int(key[:-1]))).count()
            rows.append(
                (
                    "page",
                    f"Flow page, {key}",
                    ms,
                    f"{count} queries · {moves_in:,} moves, {routing.count():,} between boards/tiers",
                )
            )
            rows.append(("", "  of which gauges", g_ms, f"{g_count} queries"))

        what = QueryDict("criterion={}&limit=45".format(criteria["Tier 1 time limit"].pk))
        query = FlowQuery.from_query(QueryDict("range=30d"), now)
        wi_ms, wi_count, _ = _setup.timed(
            lambda: whatif.page_context(what, query, timezone.now()), max(1, args.runs // 2), warm_up=False
        )
        result = whatif.page_context(what, query, timezone.now()).get("result")
        summary = "" if result is None else f" · {result.summary_text}"
        rows.append(("what-if", "What-if, 30d, Tier 1 limit 30 → 45 min", wi_ms, f"{wi_count} queries{summary}"))
        for target_key, name, ms, note in rows:
            target = TARGETS_MS.get(target_key)
            verdict = "" if target is None else (f"target {target} ms: " + ("ok" if ms <= target else "OVER"))
            print(f"  {name:<42} {ms:8.1f} ms   {verdict:<22} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
