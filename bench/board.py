#!/usr/bin/env python
"""How long the server takes to draw a busy board and to move one card on it.

Seeds a Triage board with 500 open cards in a throwaway test database (an
in-memory SQLite one, or ``test_<name>`` on the server DATABASE_URL points at),
then times, with Django's test client and no network:

- the board page (GET /boards/triage/), the full kanban;
- one move (POST /tickets/<pk>/move/ as the browser's drag sends it, htmx, with
  when its page was drawn): the answer is the card and what changed since;
- the poll when nothing changed (GET /boards/triage/changes/, 204);
- the top bar's search (GET /search/?q=…) once the desk holds ``--search-tickets``
  tickets (100,000 by default, bulk-written, with a note on every other one):
  a rare word, a common one, a requester, a client, note text and a number.

Prints the median of several runs. Targets: board under 150 ms, move under 20 ms
(its answer under 10 KB), search under 100 ms (on PostgreSQL, its full-text
indexes; SQLite scans with LIKE).
Figures only: nothing here fails a build (see DESIGN.md, "bench/").

    .venv/bin/python bench/board.py [--cards 500] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS_MS = {"board page": 150, "move": 20, "search": 100}

WORDS = [
    "printer",
    "toner",
    "vpn",
    "mailbox",
    "outlook",
    "laptop",
    "dock",
    "monitor",
    "wifi",
    "password",
    "reset",
    "backup",
    "firewall",
    "switch",
    "router",
    "scanner",
    "phone",
    "teams",
    "sharepoint",
    "onedrive",
    "license",
    "invoice",
    "payroll",
    "server",
    "disk",
    "latency",
    "dns",
    "certificate",
]
SEARCHES = ["zebracorn", "printer", "quentin", "client 07", "failing ssd", "#{pk}"]


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _seed(cards: int):
    from boards.models import Client
    from boards.seed import seed_structure
    from tests.factories import make_ticket, make_user

    boards, _ = seed_structure()
    triage = boards["triage"]
    tess = make_user("tess", tier=1, boards=[triage], first_name="Tess", last_name="Tier-One")
    cole = make_user("cole", tier=1, boards=[triage], first_name="Cole", last_name="Colleague")
    clients = [Client.objects.create(name=f"Client {n:02d}") for n in range(20)]
    open_columns = ["New", "In progress", "Waiting on customer"]
    for i in range(cards):
        make_ticket(
            board=triage,
            column=open_columns[i % 3],
            title=f"Bench ticket {i}: printer, VPN or mailbox trouble",
            priority=1 + i % 4,
            assignee=(tess, cole, None)[i % 3],
            client=clients[i % len(clients)],
        )
    for i in range(30):  # a done column with a week's worth of closed tickets
        make_ticket(board=triage, column="Resolved", title=f"Closed {i}", client=clients[i % len(clients)])
    return triage, tess


def _time_board(client, runs: int) -> tuple[list[float], int, int]:
    """Board page times, with the HTML's size as sent to a browser (gzip) and unpacked."""
    samples, sent = [], 0
    for _ in range(runs + 1):
        start = time.perf_counter()
        response = client.get("/boards/triage/", headers={"Accept-Encoding": "gzip"})
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        sent = len(response.content)
    html = len(client.get("/boards/triage/").content)
    return samples[1:], sent, html  # the first run warms caches


def _time_moves(client, triage, runs: int) -> tuple[list[float], list[int]]:
    """Moves as the browser's drag posts them, with when its page was last drawn (X-Board-Seen, as app.js
    sends it): the answer is the moved card and whatever else changed since. Times and answer sizes."""
    import re

    from boards.cards import CHANGE_SLACK
    from boards.models import Ticket

    new, in_progress = triage.columns.get(name="New"), triage.columns.get(name="In progress")
    tickets = list(Ticket.objects.filter(board=triage, column=new).order_by("pk")[: runs + 1])
    poll = re.compile(r'id="board-poll" data-revision="(\d+)" data-seen="(\d+)" data-drawn="(\d+)"')
    revision, seen, drawn = poll.search(client.get("/boards/triage/").content.decode()).groups()
    samples, sizes = [], []
    for ticket in tickets:
        # As between a person's moves: the last one is out of the answer's look-back for late
        # commits (CHANGE_SLACK), so the answer holds this card alone. bench/load.py times
        # moves back to back, fifty people at once.
        time.sleep(CHANGE_SLACK.total_seconds() + 0.05)
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver/boards/triage/",
            "X-Board-Revision": revision,
            "X-Board-Seen": seen,
            "X-Board-Drawn": drawn,
        }
        start = time.perf_counter()
        response = client.post(
            f"/tickets/{ticket.pk}/move/", {"column": in_progress.pk, "version": ticket.version}, headers=headers
        )
        samples.append(time.perf_counter() - start)
        body = response.content.decode()
        assert response.status_code == 200 and "message success" in body, body[:300]
        assert 'id="board-columns"' not in body, "a move answered with the whole board"
        revision, seen, drawn = poll.search(body).groups()
        sizes.append(len(response.content))
    return samples[1:], sizes[1:]


def _time_poll(client, triage, runs: int) -> list[float]:
    from boards.models import Board

    revision = Board.objects.get(pk=triage.pk).revision
    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        response = client.get(f"/boards/triage/changes/?since={revision}", headers={"HX-Request": "true"})
        samples.append(time.perf_counter() - start)
        assert response.status_code == 204
    return samples[1:]


def _seed_search(count: int, board) -> int:
    """``count`` tickets on ``board`` (open and resolved), a note on every other one, written in bulk."""
    import random

    from django.contrib.auth.models import User
    from django.utils import timezone

    from boards.models import Client, Note, Ticket

    rng = random.Random(9)
    columns = list(board.columns.order_by("position"))
    clients = list(Client.objects.all())
    author = User.objects.first()
    names = ["Pat Lee", "Sam Okafor", "Ana Ruiz", "Li Wei", "Noor Haddad", "Quentin Blake"]
    now = timezone.now()
    batch = 5000
    made = 0
    while made < count:
        size = min(batch, count - made)
        tickets = []
        for i in range(made, made + size):
            column = columns[i % len(columns)]
            words = " ".join(rng.sample(WORDS, 4))
            tickets.append(
                Ticket(
                    board=board,
                    column=column,
                    title=f"{words} #{i}" + (" zebracorn" if i % 20000 == 7 else ""),
                    requester_name=names[i % len(names)] if i % 50 else "Quentin Blake",
                    requester_email=f"user{i % 3000}@example.com",
                    client=clients[i % len(clients)],
                    priority=1 + i % 4,
                    resolved_at=now if column.is_done else None,
                )
            )
        created = Ticket.objects.bulk_create(tickets)
        Note.objects.bulk_create(
            Note(
                ticket=t,
                author=author,
                body=" ".join(rng.sample(WORDS, 6)) + (" found a failing ssd" if n % 997 == 0 else ""),
            )
            for n, t in enumerate(created)
            if n % 2 == 0
        )
        made += size
    return made


def _time_search(client, runs: int) -> dict[str, tuple[list[float], int]]:
    from boards.models import Ticket

    pk = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
    results = {}
    for q in SEARCHES:
        q = q.format(pk=pk)
        samples, found = [], 0
        for _ in range(runs + 1):
            start = time.perf_counter()
            response = client.get("/search/", {"q": q})
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
            found = response.content.count(b'id="result-')
        results[q] = (samples[1:], found)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--search-tickets", type=int, default=100_000, help="0 skips the search figures")
    args = parser.parse_args()

    from bench import _setup

    _setup.setup()  # the benches' environment defaults, then Django
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        seeded = time.perf_counter()
        triage, tess = _seed(args.cards)
        seeded = time.perf_counter() - seeded
        client = Client()
        client.force_login(tess)

        board, sent, html = _time_board(client, args.runs)
        moves, move_sizes = _time_moves(client, triage, args.runs)
        polls = _time_poll(client, triage, args.runs)

        vendor = connection.vendor
        print(f"Board benchmark · {vendor} · {args.cards} open cards (+30 closed) · seeded in {seeded:.1f} s")
        print(f"  median of {args.runs} runs, server time through Django's test client")
        rows = [
            ("board page", _median_ms(board), f"{html / 1024:.0f} KiB of HTML, {sent / 1024:.0f} KiB gzipped"),
            (
                "move",
                _median_ms(moves),
                f"drag to the next column, htmx answer: the card and what changed, "
                f"{statistics.median(move_sizes) / 1024:.1f} KiB",
            ),
            ("poll, unchanged", _median_ms(polls), "204 No Content"),
        ]
        for name, ms, note in rows:
            target = TARGETS_MS.get(name)
            verdict = "" if target is None else (f"target {target} ms: " + ("ok" if ms <= target else "OVER"))
            print(f"  {name:<16} {ms:8.1f} ms   {verdict:<20} {note}")

        if args.search_tickets:
            seeded = time.perf_counter()
            total = _seed_search(args.search_tickets, triage)
            if vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE boards_ticket; ANALYZE boards_note")
            seeded = time.perf_counter() - seeded
            from boards.models import Note, Ticket

            print(
                f"Search · {vendor} · {Ticket.objects.count():,} tickets, {Note.objects.count():,} notes "
                f"(+{total:,} bulk-written in {seeded:.1f} s)"
            )
            target = TARGETS_MS["search"]
            for q, (samples, found) in _time_search(client, args.runs).items():
                ms = _median_ms(samples)
                verdict = f"target {target} ms: " + ("ok" if ms <= target else "OVER")
                print(f"  search {q!r:<14} {ms:8.1f} ms   {verdict:<20} {found} results")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return 0


if __name__ == "__main__":
    sys.exit(main())
