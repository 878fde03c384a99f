#!/usr/bin/env python
"""How long working-time arithmetic (calendars.working) takes, per call.

The sweep, the deadline recompute and every card's countdown call it, so it
must cost microseconds whether a limit is 30 minutes or 3 working days and
whether a ticket waited an hour or half a year. Times, on a Mon–Fri
08:00–18:00 Europe/London calendar with England's bank holidays:

- building one year's intervals (once per calendar and year, then cached);
- add 30 working minutes on a Friday evening, and 3 working days before Christmas;
- working time between two moments 6 months and 3 years apart;
- is_working and resumes_at on a Saturday;
- the same add and between for a board without a calendar (wall time).

Figures only, best of 3 runs (the machine is shared): nothing here fails a
build. No database: the calendar's rows are built in memory.

    .venv/bin/python bench/calendars.py
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _setup

_setup.setup()

from calendars import working  # noqa: E402
from calendars.models import Calendar, WorkingSpan  # noqa: E402

LONDON = ZoneInfo("Europe/London")
RUNS = 3
CALLS = 20_000


def office() -> Calendar:
    """An unsaved calendar whose spans look prefetched, as ``load_calendar`` leaves them."""
    calendar = Calendar(pk=1, board_id=1, time_zone="Europe/London", country="GB", subdivision="ENG")
    spans = [WorkingSpan(calendar=calendar, weekday=day, start=clock(8), end=clock(18)) for day in range(5)]
    calendar._prefetched_objects_cache = {"spans": spans, "holidays": []}
    return calendar


def best_us(fn, calls: int = CALLS) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def main() -> None:
    def build_year():
        working._plan_for.cache_clear()
        working.public_holidays.cache_clear()
        working.add_working_minutes(office(), datetime(2026, 11, 27, 17, 50, tzinfo=LONDON), 30)

    calendar = office()
    friday = datetime(2026, 11, 27, 17, 50, tzinfo=LONDON)
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=LONDON)
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=LONDON)
    working.add_working_minutes(calendar, friday, 30)  # warm: the year is built once
    rows = [
        ("build a calendar's year (first use)", best_us(build_year, calls=20)),
        ("add 30 min, Friday 17:50", best_us(lambda: working.add_working_minutes(calendar, friday, 30))),
        (
            "add 3 working days over Christmas",
            best_us(lambda: working.add_working_minutes(calendar, christmas_eve, 3 * 600)),
        ),
        (
            "between, 6 months apart",
            best_us(lambda: working.working_time_between(calendar, friday, friday + timedelta(days=182))),
        ),
        (
            "between, 3 years apart",
            best_us(lambda: working.working_time_between(calendar, friday, friday + timedelta(days=3 * 365))),
        ),
        ("is_working, Saturday", best_us(lambda: working.is_working(calendar, saturday))),
        ("resumes_at, Saturday", best_us(lambda: working.resumes_at(calendar, saturday))),
        ("wall time: add 30 min (no calendar)", best_us(lambda: working.add_working_minutes(None, friday, 30))),
        (
            "wall time: between (no calendar)",
            best_us(lambda: working.working_time_between(None, friday, friday + timedelta(days=182))),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"calendars.working, best of {RUNS} runs (a shared machine: figures are noisy)")
    for name, us in rows:
        print(f"  {name:<{width}}  {us:10.1f} µs")


if __name__ == "__main__":
    main()
