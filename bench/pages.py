#!/usr/bin/env python
"""How long the pages a person reads take on a desk of 100,000 tickets (issue 11's table).

Seeds 100,000 tickets with COPY straight into the table (not through the
services, which would take many minutes) into a throwaway PostgreSQL database
named ``sb_pagesbench``, shaped like the measurements in issue 11:

- Triage: 16,000 tickets, 500 of them open (the 500-card board);
- Support: 24,000 tickets, 2,000 open (the 2,000-card board);
- NOC: 60,000 tickets, 5,500 open, 5,365 of them about a printer (the search);
- one technician, Hank, assigned 3,948 open tickets (the long home page).

Then times, through Django's test client with no network, the median of
several runs after a warm-up, with the answer's size and query count:

- the Triage board (500 cards) and the Support board (2,000 cards);
- Hank's home page;
- a board search for "printer" on NOC;
- the open and overdue counts per board (the manager's home);
- the admin's ticket list and an admin search over all 100,000.

Targets from the issue: board 500 < 100 ms, board 2,000 < 300 ms, home < 100 ms,
board search < 150 ms, admin list < 200 ms, admin search < 300 ms. Figures
only: nothing here fails a build (see DESIGN.md, "bench/").

    .venv/bin/python bench/pages.py                   # PostgreSQL on 127.0.0.1 as postgres
    DATABASE_URL=postgres://… .venv/bin/python bench/pages.py --runs 9
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _setup

DATABASE = os.environ.get("BENCH_DATABASE", "sb_pagesbench")
# board slug: (tickets, open, open about a printer)
SHAPE = {"triage": (16_000, 500, 0), "support": (24_000, 2_000, 0), "noc": (60_000, 5_500, 5_365)}
HANK_OPEN = 3_948
TOPICS = ("VPN drops", "mailbox full", "disk alert", "password reset", "slow laptop", "backup failed")


def seed(boards: dict, people: list[int], hank: int, now, rng: random.Random) -> None:
    """COPY the desk: per board, old tickets resolved, the newest ``open`` still open."""
    from boards.models import Client, Column, Ticket

    clients = [Client.objects.create(name=f"Client {n:03d}").pk for n in range(200)]
    columns = {slug: list(Column.objects.filter(board=board).order_by("position")) for slug, board in boards.items()}

    def tickets():
        pk = 0
        hank_left = HANK_OPEN
        for slug, (total, still_open, printers) in SHAPE.items():
            done_column = next(c for c in columns[slug] if c.category == Column.Category.DONE)
            open_columns = [c for c in columns[slug] if c.category != Column.Category.DONE]
            for n in range(total):
                pk += 1
                is_open = n >= total - still_open
                created = now - timedelta(days=90) * (1 - n / total) - timedelta(minutes=rng.random() * 30)
                updated = created + timedelta(hours=rng.random() * 48)
                printer = is_open and n >= total - printers
                title = f"Printer on floor {n % 7} jams" if printer else f"{rng.choice(TOPICS)} ({pk})"
                column = rng.choice(open_columns) if is_open else done_column
                assignee = rng.choice(people) if rng.random() < 0.6 else None
                if is_open and slug != "triage" and hank_left and rng.random() < 0.6:
                    assignee, hank_left = hank, hank_left - 1
                running = is_open and column.category in (Column.Category.NEW, Column.Category.ACTIVE)
                deadline = now + timedelta(minutes=rng.randint(-20, 120)) if running and slug != "support" else None
                yield {
                    "id": pk,
                    "title": title,
                    "description": "Reported by phone; see the notes.",
                    "requester_email": f"pat{pk % 900}@example.com",
                    "priority": 1 + pk % 4,
                    "board_id": boards[slug].pk,
                    "column_id": column.pk,
                    "tier": 2 if slug == "support" else 1,
                    "created_at": created,
                    "updated_at": updated if not is_open else created,
                    "resolved_at": None if is_open else updated,
                    "entered_board_at": created,
                    "assignee_id": assignee,
                    "client_id": rng.choice(clients),
                    "deadline_at": deadline,
                    "clock_started_at": created if running else None,
                }

    _setup.copy_tickets(tickets())
    _setup.vacuum_analyze(Ticket._meta.db_table)


def measure(client, url: str, runs: int, **headers) -> dict:
    """Median ms of GET ``url`` after a warm-up, its query count and its size raw and gzipped."""
    ms, count, response = _setup.timed(lambda: client.get(url, headers=headers), runs)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    body = response.content
    return {"ms": ms, "queries": count, "kb": len(body) / 1024, "gz_kb": len(gzip.compress(body)) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help=f"keep {DATABASE} afterwards, to look at plans")
    args = parser.parse_args()

    _setup.setup(database_url=_setup.LOCAL_POSTGRESQL)
    from django.db import connection
    from django.db.models import Count, Q
    from django.test import Client
    from django.utils import timezone

    from boards.models import Ticket
    from boards.seed import seed_structure
    from boards.views import board_counts
    from tests.factories import make_user

    if not _setup.postgresql_only("bench/pages.py"):
        return 0

    rng = random.Random(args.seed)
    now = timezone.now()
    with _setup.throwaway_database(DATABASE, keep=args.keep):
        boards, _ = seed_structure()
        all_boards = list(boards.values())
        hank = make_user("hank", tier=2, boards=all_boards, first_name="Hank", last_name="Heavy")
        tess = make_user("tess", tier=1, boards=[boards["triage"]], first_name="Tess", last_name="Tier-One")
        sam = make_user("sam", tier=2, boards=[boards["support"]], first_name="Sam", last_name="Support")
        nico = make_user("nico", tier=1, boards=[boards["noc"]], first_name="Nico", last_name="Noc")
        manager = make_user("morgan", manager=True, is_superuser=True)
        people = [make_user(f"tech{n}", tier=1 + n % 2, boards=all_boards).pk for n in range(30)]
        started = time.perf_counter()
        seed(boards, people, hank.pk, now, rng)
        seeded = time.perf_counter() - started

        clients = {who: Client() for who in ("hank", "tess", "sam", "nico", "morgan")}
        for who, c in clients.items():
            c.force_login({"hank": hank, "tess": tess, "sam": sam, "nico": nico, "morgan": manager}[who])

        print(f"Pages at scale · PostgreSQL · {Ticket.objects.count():,} tickets (seeded in {seeded:.0f} s)")
        print(f"  median of {args.runs} runs after a warm-up, server time through Django's test client")
        rows = [
            ("board, 500 cards (Triage)", clients["tess"], "/boards/triage/", 100),
            ("board, 2,000 cards (Support)", clients["sam"], "/boards/support/", 300),
            (f"home, {HANK_OPEN:,} assigned (Hank)", clients["hank"], "/", 100),
            ("home, manager (board counts)", clients["morgan"], "/", 100),
            ("board search 'printer' (NOC)", clients["nico"], "/boards/noc/?q=printer", 150),
            ("search 'printer', page 1", clients["nico"], "/search/?q=printer", 150),
            ("search 'printer', page 5", clients["nico"], "/search/?q=printer&page=5", 150),
            ("admin ticket list", clients["morgan"], "/admin/boards/ticket/", 200),
            ("admin search 'vpn drops'", clients["morgan"], "/admin/boards/ticket/?q=vpn+drops", 300),
            ("admin search '#4242'", clients["morgan"], "/admin/boards/ticket/?q=%234242", 300),
        ]
        for name, client, url, target in rows:
            m = measure(client, url, args.runs)
            verdict = "ok" if m["ms"] <= target else "OVER"
            print(
                f"  {name:<34} {m['ms']:8.1f} ms  {m['queries']:3d} queries  "
                f"{m['kb']:8.0f} KB ({m['gz_kb']:.0f} KB gzipped)  target {target} ms: {verdict}"
            )

        board_ids = [b.pk for b in all_boards]
        ms, _, _ = _setup.timed(lambda: board_counts(board_ids, now), args.runs, warm_up=False)
        with connection.cursor() as cursor:
            sql, params = (
                Ticket.objects.open()
                .filter(board_id__in=board_ids)
                .order_by()
                .values("board_id")
                .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline_at__lte=now)))
                .query.sql_with_params()
            )
            cursor.execute("EXPLAIN " + sql, params)
            plan = " / ".join(row[0].strip() for row in cursor.fetchall()[:3])
        print(f"  {'open and overdue per board':<34} {ms:8.1f} ms  plan: {plan}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
