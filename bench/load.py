#!/usr/bin/env python
"""Fifty technicians on one board, over real HTTP: moves per second and how long each move takes.

Seeds a Triage board with open cards and N technicians in a throwaway
PostgreSQL database (``sb_loadbench``), starts gunicorn on loopback against it
and Redis (the broker the moves' notifications go to), logs every technician
in through the login page, and drives the board the way the browser does:

- a move is the drag's POST /tickets/<pk>/move/ (htmx headers, the card's
  version, the board revision the page last saw), and its answer updates the
  card's version and the page's revision;
- a poll is the poll element's own GET /boards/triage/changes/?since=…&seen=…:
  204 while nothing changed, else the cards changed since (or fresh columns
  when they are too many, or once a minute).

Each technician moves only their own cards, so no move meets a conflict by
construction. Two runs, each stopping by itself:

- **saturation**: every client moves again as soon as its answer arrives;
  target at least 100 moves/s;
- **a realistic pace**: each technician moves a card about every 5 s and polls
  every 3 s; target move p99 under 100 ms, no errors.

Prints moves per second, p50 and p99 of moves (and of polls), errors, the size
of the answers (as sent, and gzipped as a browser receives them), and the CPU
that gunicorn, PostgreSQL and this client spent per move with the machine's
load as each run began: on a shared machine, CPU per move is the figure that
others' work disturbs least (2 cores / CPU per move ≈ the moves per second a
quiet machine reaches). Figures only: nothing here fails a build.

    .venv/bin/python bench/load.py                       # PostgreSQL and Redis on 127.0.0.1
    .venv/bin/python bench/load.py --clients 50 --workers 4 --seconds 30
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get("BENCH_DATABASE", "sb_loadbench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
PASSWORD = "bench-password-1"
TARGET_MOVES_PER_S = 100
TARGET_P99_MS = 100

# The client reads answers as bytes, one pass per thing it looks for: fifty
# threads of one Python process parse every answer, and on a 2-core machine a
# client that decodes and re-scans 100 KB answers takes CPU from the server.
CARD = re.compile(rb'data-ticket-id="(\d+)" data-version="(\d+)" data-column-id="(\d+)"')
POLL = re.compile(
    rb'<div id="board-poll" data-revision="(\d+)" data-seen="(\d+)" data-drawn="(\d+)"[^>]*? hx-get="([^"]+)"'
)
MESSAGE_ERROR = re.compile(rb'<p class="message error">([^<]*)')
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# Every this many answers, one is kept to tell what a browser receives (gzip, as GZipMiddleware sends it).
SAMPLE_EVERY = 10


@dataclass
class Figures:
    moves: list[float] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    move_bytes: list[int] = field(default_factory=list)
    samples: list[bytes] = field(default_factory=list)  # some move answers, whole
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds of CPU each side spent in the run
    load: float = 0.0  # the machine's 1-minute load average as the run began

    def add(self, kind: str, seconds: float, answer: bytes = b"") -> None:
        with self.lock:
            (self.moves if kind == "move" else self.polls).append(seconds)
            if kind == "move":
                self.move_bytes.append(len(answer))
                if len(self.move_bytes) % SAMPLE_EVERY == 1:
                    self.samples.append(answer)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class Browser:
    """One technician's tab: a cookie jar, the board's revision and their cards' (version, column)."""

    def __init__(self, port: int, username: str, cards: dict[int, tuple[int, int]], columns: list[int]):
        self.port, self.username = port, username
        self.cards, self.columns = cards, columns
        self.cookies: dict[str, str] = {}
        self.revision = "0"
        self.seen = ""  # when the page (or the last answer) was drawn: the server's ms since the epoch
        self.drawn = ""  # when the columns were last drawn whole
        self.poll_url = ""  # the poll's hx-get, as the last answer set it

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, data, dict(response.getheaders())

    def login(self) -> None:
        status, page, _ = self.request("GET", "/login/")
        token = CSRF_INPUT.search(page).group(1).decode()
        body = urlencode({"csrfmiddlewaretoken": token, "username": self.username, "password": PASSWORD})
        referer = {"Referer": f"http://127.0.0.1:{self.port}/login/"}
        status, _, _ = self.request("POST", "/login/", body, referer)
        if status != 302:
            raise RuntimeError(f"{self.username} could not log in ({status})")
        status, page, _ = self.request("GET", "/boards/triage/")
        self._read_revision(page)

    def _read_revision(self, html: bytes) -> None:
        found = POLL.search(html)
        if found:
            self.revision, self.seen, self.drawn, url = (part.decode() for part in found.groups())
            self.poll_url = html_unescape(url)

    def move(self, figures: Figures, rng: random.Random) -> None:
        pk = rng.choice(list(self.cards))
        version, current = self.cards[pk]
        # As app.js: a card dropped on its own column posts nothing.
        column = rng.choice([c for c in self.columns if c != current])
        body = urlencode({"column": column, "version": version})
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": f"http://127.0.0.1:{self.port}/boards/triage/",
            "X-Board-Revision": self.revision,
            "X-Board-Seen": self.seen,
            "X-Board-Drawn": self.drawn,
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "Referer": f"http://127.0.0.1:{self.port}/boards/triage/",
        }
        started = time.perf_counter()
        try:
            status, html, _ = self.request("POST", f"/tickets/{pk}/move/", body, headers)
        except OSError as exc:
            figures.error(f"move: {exc}")
            return
        elapsed = time.perf_counter() - started
        if status != 200:
            figures.error(f"move answered {status}")
            return
        refused = MESSAGE_ERROR.search(html)
        if refused:
            # A refused move still answers 200 (the board redrawn as it is, with the reason).
            figures.error(f"move refused: {refused.group(1)[:80].decode()}")
        self._read_cards(html)
        self._read_revision(html)
        figures.add("move", elapsed, html)

    def _read_cards(self, html: bytes) -> None:
        cards = self.cards
        for card, version, column in CARD.findall(html):
            pk = int(card)
            if pk in cards:
                cards[pk] = (int(version), int(column))

    def poll(self, figures: Figures) -> None:
        started = time.perf_counter()
        try:
            status, html, _ = self.request("GET", self.poll_url, headers={"HX-Request": "true"})
        except OSError as exc:
            figures.error(f"poll: {exc}")
            return
        elapsed = time.perf_counter() - started
        if status not in (200, 204):
            figures.error(f"poll answered {status}")
            return
        if status == 200:
            self._read_cards(html)
            self._read_revision(html)
        figures.add("poll", elapsed)


def seed(clients: int, cards_each: int) -> tuple[list[str], dict[str, dict[int, tuple[int, int]]], list[int]]:
    from boards.models import Column, Ticket
    from boards.seed import seed_structure
    from tests.factories import make_ticket, make_user

    boards, _ = seed_structure()
    triage = boards["triage"]
    # Moves among the open columns that keep the clock running, so no card is resolved or paused for good.
    columns = list(Column.objects.filter(board=triage, category__in=Column.CLOCK_RUNS).values_list("pk", flat=True))
    names, owned = [], {}
    for n in range(clients):
        user = make_user(f"load{n:02d}", tier=1, boards=[triage], password=PASSWORD)
        names.append(user.username)
        owned[user.username] = {}
        for _ in range(cards_each):
            ticket = make_ticket(board=triage, title=f"Load test card for {user.username}", assignee=user)
            owned[user.username][ticket.pk] = (ticket.version, ticket.column_id)
    assert Ticket.objects.filter(board=triage).count() == clients * cards_each
    return names, owned, columns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int, database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [sys.executable, "-m", "gunicorn", "helpdesk.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sides(server_pid: int) -> dict[str, list[int]]:
    """The processes on each side of the run: gunicorn (master and workers) and this database's backends."""
    found: dict[str, list[int]] = {"gunicorn": [server_pid], "PostgreSQL": []}
    tag = f" {DATABASE} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            continue
        if parent == server_pid:
            found["gunicorn"].append(int(entry))
        elif command.startswith(b"postgres:") and tag in command:
            found["PostgreSQL"].append(int(entry))
    return found


def cpu_snapshot(server_pid: int | None) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process on each side (Linux /proc; empty elsewhere), and this client's."""
    if server_pid is None or not os.path.isdir("/proc"):
        return {}
    snapshot = {side: {pid: _cpu_seconds(pid) for pid in pids} for side, pids in _sides(server_pid).items()}
    snapshot["client"] = {os.getpid(): time.process_time()}
    return snapshot


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """Seconds of CPU each side spent between two snapshots (a process that started meanwhile counts whole)."""
    return {
        side: sum(t - before.get(side, {}).get(pid, 0.0) for pid, t in pids.items()) for side, pids in after.items()
    }


def run(
    browsers: list[Browser],
    seconds: float,
    *,
    pace: float | None,
    poll_every: float | None,
    server_pid: int | None = None,
) -> Figures:
    """Each browser in its own thread until ``seconds`` pass: moves back to back, or at ``pace`` with polls.

    With ``server_pid``, also how much CPU gunicorn, PostgreSQL and this client spent meanwhile
    (the machine may be shared: CPU per move tells more than moves per second then)."""
    figures = Figures()
    before = cpu_snapshot(server_pid)
    figures.load = os.getloadavg()[0]
    stop = time.monotonic() + seconds

    def tab(browser: Browser, seed: int) -> None:
        rng = random.Random(seed)
        next_move = time.monotonic() + (rng.random() * pace if pace else 0)
        next_poll = time.monotonic() + (rng.random() * poll_every if poll_every else float("inf"))
        while time.monotonic() < stop:
            now = time.monotonic()
            if now >= next_move:
                browser.move(figures, rng)
                next_move = now + (rng.uniform(0.5, 1.5) * pace if pace else 0)
            elif now >= next_poll:
                browser.poll(figures)
                next_poll = now + poll_every
            else:
                time.sleep(min(next_move, next_poll, stop) - now)

    threads = [threading.Thread(target=tab, args=(b, n)) for n, b in enumerate(browsers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if before:
        figures.cpu = cpu_spent(before, cpu_snapshot(server_pid))
    return figures


def report(name: str, figures: Figures, seconds: float, target: str) -> None:
    def pct(samples: list[float], q: float) -> float:
        if not samples:
            return float("nan")
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    moves = len(figures.moves)
    size = statistics.median(figures.move_bytes) / 1024 if figures.move_bytes else 0
    # What a browser receives: the answer gzipped as GZipMiddleware does (level 6). The
    # client asks for plain answers so that compressing them costs neither side in the run.
    sent = (
        statistics.median(len(gzip.compress(a, compresslevel=6, mtime=0)) for a in figures.samples) / 1024
        if figures.samples
        else 0
    )
    print(
        f"  {name:<12} {moves / seconds:7.1f} moves/s   move p50 {pct(figures.moves, 0.5):6.1f} ms  "
        f"p99 {pct(figures.moves, 0.99):6.1f} ms   answer {size:.1f} KB (median; {sent:.1f} KB gzipped)   "
        f"polls {len(figures.polls)} (p50 {pct(figures.polls, 0.5):.1f} ms, p99 {pct(figures.polls, 0.99):.1f} ms)   "
        f"errors {len(figures.errors)}   {target}"
    )
    if figures.cpu and moves:
        spent = "  ".join(f"{side} {cpu / moves * 1000:.1f} ms" for side, cpu in figures.cpu.items())
        print(
            f"               CPU per move{' (its polls included)' if figures.polls else ''}: {spent}   "
            f"· machine load {figures.load:.1f} as it began ({os.cpu_count()} cores)"
        )
    for text in sorted(set(figures.errors))[:5]:
        print(f"      error: {text} (×{figures.errors.count(text)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--cards-each", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    from bench import _setup

    _setup.setup(database_url=_setup.LOCAL_POSTGRESQL)  # the benches' environment defaults, then Django
    import redis
    from django.db import connection

    if connection.vendor != "postgresql":
        print("bench/load.py: skipped; it needs PostgreSQL (set DATABASE_URL=postgres://…) and Redis.")
        return 0

    server = None
    with _setup.throwaway_database(DATABASE):
        try:
            names, owned, columns = seed(args.clients, args.cards_each)
            database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{DATABASE}"
            connection.close()
            port = free_port()
            server = start_gunicorn(port, args.workers, database_url)
            browsers = [Browser(port, name, owned[name], columns) for name in names]
            for browser in browsers:
                browser.login()

            print(
                f"Load · gunicorn -w {args.workers} on loopback · PostgreSQL + Redis · {args.clients} technicians, "
                f"{args.clients * args.cards_each} cards on Triage · {args.seconds:.0f} s a run"
            )
            saturated = run(browsers, args.seconds, pace=None, poll_every=None, server_pid=server.pid)
            rate = len(saturated.moves) / args.seconds
            report(
                "saturation",
                saturated,
                args.seconds,
                f"target ≥ {TARGET_MOVES_PER_S} moves/s: {'ok' if rate >= TARGET_MOVES_PER_S else 'UNDER'}",
            )
            paced = run(browsers, max(args.seconds, 30), pace=5.0, poll_every=3.0, server_pid=server.pid)
            p99 = sorted(paced.moves)[int(0.99 * len(paced.moves))] * 1000 if paced.moves else float("inf")
            verdict = "ok" if p99 < TARGET_P99_MS and not paced.errors else "OVER"
            report("realistic", paced, max(args.seconds, 30), f"target p99 < {TARGET_P99_MS} ms, no errors: {verdict}")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            redis.Redis.from_url(REDIS_URL).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
