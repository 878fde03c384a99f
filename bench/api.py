#!/usr/bin/env python
"""How long the REST API takes to answer a page of 25 tickets on a desk of 100,000, and in how many queries.

Seeds the tickets with COPY straight into the table (not through the services,
which would take many minutes) into a throwaway PostgreSQL database named
``sb_apibench`` (or $BENCH_DATABASE), then times GET /api/v1/tickets/ through Django's test client
with a bearer token, as a Triage technician (who sees a third of the desk) and
as a manager (who sees all of it):

- the first page, a page twenty pages deep (following the cursors), and the
  filtered pages a script asks for (open tickets of a board, updated since);
- the SQL query count of each, which must be the same for every page, for 25
  or 100 tickets a page, and on 1,000 or 100,000 tickets (the count at 1,000
  is taken before the rest are seeded).

Target: a page under 50 ms. Figures only: nothing here fails a build. Then,
when bench/alerts.py is there, its figure too (one Alertmanager delivery of
500 alerts), so one command prints both.

    .venv/bin/python bench/api.py                   # PostgreSQL on 127.0.0.1 as postgres
    DATABASE_URL=postgres://… .venv/bin/python bench/api.py --tickets 100000
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _setup

DATABASE = os.environ.get("BENCH_DATABASE", "sb_apibench")
TARGET_MS = 50
EARLY = 1_000  # tickets seeded before the first query count


def seed(boards: dict, people: list[int], first: int, last: int, now, rng: random.Random) -> None:
    """COPY tickets ``first``..``last`` (ids) onto the three boards: older ones mostly resolved."""
    from boards.models import Column, Ticket

    columns = {slug: list(Column.objects.filter(board=board).order_by("position")) for slug, board in boards.items()}
    total = 100_000

    def tickets():
        for pk in range(first, last + 1):
            slug = rng.choice(("triage", "triage", "noc", "support"))
            created = now - timedelta(days=90) * (1 - pk / total) - timedelta(minutes=rng.random())
            done = pk < total * 0.9 and rng.random() < 0.95
            column = columns[slug][-1] if done else rng.choice(columns[slug][:-1])
            updated = created + timedelta(hours=rng.random() * 48)
            yield {
                "id": pk,
                "title": f"Bench ticket {pk}",
                "priority": 1 + pk % 4,
                "board_id": boards[slug].pk,
                "column_id": column.pk,
                "tier": 2 if slug == "support" else 1,
                "created_at": created,
                "updated_at": updated,
                "resolved_at": updated if done else None,
                "entered_board_at": created,
                "assignee_id": rng.choice(people) if rng.random() < 0.6 else None,
            }

    _setup.copy_tickets(tickets())
    _setup.vacuum_analyze(Ticket._meta.db_table)


def measure(client, url: str, headers: dict, runs: int) -> tuple[float, int, dict]:
    """Median milliseconds of GET ``url`` over ``runs`` (after a warm-up), its query count, and the answer.

    The warm-up is where the token's last_used_at is written, once.
    """
    ms, count, response = _setup.timed(lambda: client.get(url, headers=headers), runs)
    assert response.status_code == 200, response.content[:300]
    return ms, count, response.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    _setup.setup(database_url=_setup.LOCAL_POSTGRESQL)
    from django.test import Client
    from django.utils import timezone

    from api.models import ApiToken
    from boards.seed import seed_structure
    from tests.factories import make_user

    if not _setup.postgresql_only("bench/api.py"):
        return _alerts()

    rng = random.Random(args.seed)
    now = timezone.now()
    with _setup.throwaway_database(DATABASE):
        boards, _ = seed_structure()
        tess = make_user("tess", tier=1, boards=[boards["triage"]])
        people = [tess.pk] + [make_user(f"tech{n}", tier=1 + n % 3, boards=[boards["triage"]]).pk for n in range(20)]
        manager = make_user("morgan", manager=True)
        headers = {}
        for user in (tess, manager):
            token = ApiToken(user=user, created_by=user, scope=ApiToken.Scope.READ, name="bench")
            headers[user.username] = {"Authorization": f"Bearer {token.issue()}"}
            token.save()
        client = Client()
        pages = [
            ("first page", "/api/v1/tickets/"),
            ("open on Triage", "/api/v1/tickets/?board=triage&state=open"),
            (
                "updated in the last day",
                "/api/v1/tickets/?" + urlencode({"updated_since": (now - timedelta(days=1)).isoformat()}),
            ),
            ("assigned to me", "/api/v1/tickets/?assignee=me"),
        ]

        early = min(EARLY, args.tickets)
        seed(boards, people, 1, early, now, rng)
        early_counts = {who: measure(client, "/api/v1/tickets/", headers[who], 1)[1] for who in headers}
        started = time.perf_counter()
        if args.tickets > early:
            seed(boards, people, early + 1, args.tickets, now, rng)
        seeded = time.perf_counter() - started

        print(f"API benchmark · PostgreSQL · {args.tickets:,} tickets (seeded in {seeded:.0f} s)")
        print(f"  median of {args.runs} runs after a warm-up, server time through Django's test client")
        worst = 0.0
        steady = True
        for who in headers:
            role = "manager" if who == "morgan" else "Triage technician"
            # The same request's query count on the first page at 1,000 and at
            # the full size, twenty pages deep (following the cursors), and for
            # a page of 100: it must not change.
            same: set[int] = {early_counts[who]}
            for name, url in pages:
                ms, queries, _ = measure(client, url, headers[who], args.runs)
                if name == "first page":
                    same.add(queries)
                worst = max(worst, ms)
                print(f"  {role:<18} {name:<26} {ms:7.1f} ms  {queries} queries")
            url = "/api/v1/tickets/"
            for _ in range(20):
                url = client.get(url, headers=headers[who]).json()["next"]
            ms, queries, _ = measure(client, url, headers[who], args.runs)
            same.add(queries)
            worst = max(worst, ms)
            print(f"  {role:<18} {'page 21 (by cursor)':<26} {ms:7.1f} ms  {queries} queries")
            ms100, q100, _ = measure(client, "/api/v1/tickets/?page_size=100", headers[who], args.runs)
            same.add(q100)
            print(f"  {role:<18} {'a page of 100':<26} {ms100:7.1f} ms  {q100} queries")
            steady = steady and len(same) == 1
        verdict = "ok" if worst <= TARGET_MS else "OVER"
        print(
            f"  A page of 25 on {args.tickets:,} tickets: at most {worst:.1f} ms (target {TARGET_MS} ms: {verdict}). "
            f"Queries the same on page 1 at {early:,} and {args.tickets:,} tickets, page 21 and a page of 100: "
            + ("yes" if steady else "NO")
            + " (a board filter adds one lookup of the board's id)"
        )

    return _alerts()


def _alerts() -> int:
    """bench/alerts.py's figure after ours, when the intake's bench is there."""
    if importlib.util.find_spec("bench.alerts") is not None:
        print()
        from bench import alerts

        alerts.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
