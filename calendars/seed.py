"""The demo's calendars: NOC works 24/7; Triage and Support Mon–Fri 08:00–18:00.

Idempotent, like ``boards.seed``: a board that already has a calendar keeps
it (a manager may have edited it), one without gets the demo's.
"""

from __future__ import annotations

from datetime import time

from django.db import transaction

from boards.models import Board

from .models import Calendar, WorkingSpan

# Europe/London rather than America/New_York: it is the zone README offers as
# the example TIME_ZONE, and its clocks change on the last Sundays of March
# and October (01:00 UTC), weeks away from the US dates, so a demo or test
# crossing one of them shows the board's own zone at work, not the server's.
# England's bank holidays (GB-ENG) go with it.
OFFICE_ZONE = "Europe/London"
OFFICE_HOURS = (time(8), time(18))
WEEKDAYS = range(5)  # Monday to Friday

CALENDARS = {
    "noc": {"always_open": True},
    "triage": {"hours": OFFICE_HOURS},
    "support": {"hours": OFFICE_HOURS},
}


@transaction.atomic
def seed_calendars(boards: dict[str, Board] | None = None) -> dict[str, Calendar]:
    """Give the seeded boards (by slug) their demo calendars, if they have none yet."""
    boards = boards or {b.slug: b for b in Board.objects.filter(slug__in=CALENDARS)}
    calendars = {}
    for slug, spec in CALENDARS.items():
        board = boards.get(slug)
        if board is None:
            continue
        calendar, created = Calendar.objects.get_or_create(
            board=board,
            defaults={
                "time_zone": OFFICE_ZONE,
                "always_open": spec.get("always_open", False),
                # A 24/7 board has no days off; the others have England's bank holidays.
                "country": "" if spec.get("always_open") else "GB",
                "subdivision": "" if spec.get("always_open") else "ENG",
            },
        )
        if created and "hours" in spec:
            start, end = spec["hours"]
            WorkingSpan.objects.bulk_create(
                WorkingSpan(calendar=calendar, weekday=day, start=start, end=end) for day in WEEKDAYS
            )
        calendars[slug] = calendar
    return calendars
