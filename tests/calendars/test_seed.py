"""The demo's calendars: NOC 24/7; Triage and Support office hours in London."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from calendars.models import Calendar
from calendars.seed import seed_calendars
from calendars.working import add_working_minutes, load_calendars

LONDON = ZoneInfo("Europe/London")


def test_seeded_boards_get_the_demo_calendars_once(desk):
    seed_calendars(desk.boards)
    calendars = load_calendars(desk.boards.values())
    by_slug = {slug: calendars[board.pk] for slug, board in desk.boards.items()}
    assert by_slug["noc"].describe() == "24/7 (every hour counts)"
    for slug in ("triage", "support"):
        assert by_slug[slug].describe() == "Mon–Fri 08:00–18:00 Europe/London, holidays: GB-ENG"

    friday_evening = datetime(2026, 11, 27, 17, 50, tzinfo=LONDON)
    assert add_working_minutes(by_slug["triage"], friday_evening, 30) == datetime(2026, 11, 30, 8, 20, tzinfo=LONDON)
    assert add_working_minutes(by_slug["noc"], friday_evening, 30) == datetime(2026, 11, 27, 18, 20, tzinfo=LONDON)

    # Again, after a manager changed Support's zone: nothing is added or overwritten.
    Calendar.objects.filter(board=desk.support).update(time_zone="America/New_York")
    seed_calendars()
    assert Calendar.objects.count() == 3
    assert Calendar.objects.get(board=desk.support).time_zone == "America/New_York"
    assert Calendar.objects.get(board=desk.triage).spans.count() == 5
