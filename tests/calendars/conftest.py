"""A calendar factory: hours as {weekdays: [(start, end), …]}, holidays by country and by hand."""

from __future__ import annotations

from datetime import date, time

import pytest

from calendars.models import Calendar, Holiday, WorkingSpan
from calendars.working import load_calendar

WEEKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
OFFICE = {WEEKDAYS: [("08:00", "18:00")]}


def _time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@pytest.fixture
def make_calendar(desk):
    """Save a calendar for a board (Triage unless told) and load it as the sweep would."""

    def factory(
        hours: dict[tuple[int, ...], list[tuple[str, str]]] | None = None,
        *,
        board=None,
        time_zone: str = "Europe/London",
        country: str = "",
        subdivision: str = "",
        added: list[tuple[date, str]] = (),
        always_open: bool = False,
    ) -> Calendar:
        board = board or desk.triage
        calendar = Calendar.objects.create(
            board=board, time_zone=time_zone, country=country, subdivision=subdivision, always_open=always_open
        )
        for days, spans in (OFFICE if hours is None else hours).items():
            for day in days:
                for start, end in spans:
                    WorkingSpan.objects.create(calendar=calendar, weekday=day, start=_time(start), end=_time(end))
        for day, name in added:
            Holiday.objects.create(calendar=calendar, date=day, name=name)
        return load_calendar(board)

    return factory
