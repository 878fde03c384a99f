"""A calendar in plain words, as the manager reads it in admin and on the board's page."""

from __future__ import annotations

from datetime import date

from tests.calendars.conftest import WEEKDAYS


def test_runs_of_days_with_the_same_hours_read_as_one(make_calendar):
    week = make_calendar(
        {
            (0, 1, 2, 3): [("08:00", "12:00"), ("13:00", "18:00")],
            (4,): [("08:00", "16:00")],
            (5,): [("09:00", "12:00")],
        },
        time_zone="America/New_York",
        country="US",
        subdivision="NY",
    )
    assert week.describe() == (
        "Mon–Thu 08:00–12:00, 13:00–18:00; Fri 08:00–16:00; Sat 09:00–12:00 America/New_York, holidays: US-NY"
    )
    assert str(week) == f"Triage: {week.describe()}"


def test_a_night_shift_reads_to_midnight_and_added_days_are_counted(make_calendar):
    nights = make_calendar({WEEKDAYS: [("22:00", "00:00")]}, added=[(date(2026, 12, 31), "Year-end close")])
    assert nights.describe() == "Mon–Fri 22:00–24:00 Europe/London, holidays: 1 added"


def test_24_7_and_no_hours(make_calendar, desk):
    assert make_calendar(board=desk.noc, always_open=True).describe() == "24/7 (every hour counts)"
    assert make_calendar({}).describe() == "no working hours Europe/London, holidays: none"
