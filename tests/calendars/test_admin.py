"""A manager sets a board's calendar in admin, and every mistake gets a message that says what to do."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from calendars.models import Calendar, Holiday, WorkingSpan

ADD = reverse("admin:calendars_calendar_add")


@pytest.fixture
def manager_client(client, manager):
    assert manager.is_staff and not manager.is_superuser
    client.force_login(manager)
    return client


def calendar_form(board, *, spans=(), holidays=(), **fields) -> dict[str, str]:
    """The admin page's POST: the calendar's fields and its two inline formsets."""
    data = {
        "board": str(board.pk),
        "time_zone": "Europe/London",
        "country": "GB",
        "subdivision": "ENG",
        "spans-TOTAL_FORMS": str(len(spans)),
        "spans-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": str(len(holidays)),
        "holidays-INITIAL_FORMS": "0",
        **fields,
    }
    if data.get("always_open") is False:
        del data["always_open"]
    for i, (weekday, start, end) in enumerate(spans):
        data |= {f"spans-{i}-weekday": str(weekday), f"spans-{i}-start": start, f"spans-{i}-end": end}
    for i, (day, name) in enumerate(holidays):
        data |= {f"holidays-{i}-date": day, f"holidays-{i}-name": name}
    return data


OFFICE = [(day, "08:00", "18:00") for day in range(5)]


def test_manager_sets_office_hours_and_sees_them_in_plain_words(manager_client, desk):
    response = manager_client.post(
        ADD,
        calendar_form(desk.triage, spans=OFFICE, holidays=[("2026-12-31", "Year-end close"), ("2027-08-13", "Summer")]),
        follow=True,
    )
    assert response.status_code == 200
    calendar = Calendar.objects.get(board=desk.triage)
    assert calendar.spans.count() == 5
    summary = "Mon–Fri 08:00–18:00 Europe/London, holidays: GB-ENG + 2 added"
    assert calendar.describe() == summary
    assert summary in manager_client.get(reverse("admin:calendars_calendar_changelist")).text
    change = manager_client.get(reverse("admin:calendars_calendar_change", args=[calendar.pk])).text
    assert summary in change
    assert 'value="08:00"' in change  # whole minutes, as a manager types them
    assert "Fri 25 Dec" in change  # the country's coming holidays are listed for the manager
    # The board's own page shows its hours too, with a link to change them.
    board_page = manager_client.get(reverse("admin:boards_board_change", args=[desk.triage.pk])).text
    assert summary in board_page
    assert reverse("admin:calendars_calendar_change", args=[calendar.pk]) in board_page


def test_a_24_7_board_needs_no_hours(manager_client, desk):
    manager_client.post(ADD, calendar_form(desk.noc, always_open="on", country="", subdivision=""))
    assert Calendar.objects.get(board=desk.noc).describe() == "24/7 (every hour counts)"


def _errors(response) -> str:
    assert response.status_code == 200  # the form again, not a redirect
    assert not Calendar.objects.exists()
    return response.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Europe/Londres"}, "“Europe/Londres” is not a time zone name"),
        ({"country": "XX"}, "“XX” is not a country the holidays calendar knows. Use a two-letter ISO code"),
        ({"subdivision": "BAV"}, "GB has no region “BAV”. Known regions: ENG, NIR, SCT, WLS."),
        ({"country": "", "subdivision": "ENG"}, "A region needs its country."),
    ],
)
def test_a_bad_zone_country_or_region_is_named(manager_client, desk, change, message):
    assert message in _errors(manager_client.post(ADD, calendar_form(desk.triage, spans=OFFICE, **change)))


def test_overlapping_spans_are_refused(manager_client, desk):
    spans = [(0, "08:00", "12:00"), (0, "11:30", "14:00"), (1, "08:00", "12:00"), (1, "12:00", "18:00")]
    text = _errors(manager_client.post(ADD, calendar_form(desk.triage, spans=spans)))
    assert "Mon 08:00–12:00 overlaps Mon 11:30–14:00: join them into one span or move one." in text
    # Touching spans are fine: Tuesday's two make no error.
    assert "Tue" not in " ".join(re.findall(r'class="errorlist[^>]*>(.*?)</ul>', text, re.S))


def test_a_span_crossing_midnight_is_refused_with_the_way_to_enter_a_night_shift(manager_client, desk):
    text = _errors(manager_client.post(ADD, calendar_form(desk.triage, spans=[(0, "22:00", "06:00")])))
    assert "22:00–06:00 ends before it starts. A span can&#x27;t cross midnight" in text
    assert "22:00–00:00 on this day and 00:00–06:00 on the next" in text


def test_a_calendar_that_is_not_24_7_needs_hours(manager_client, desk):
    text = _errors(manager_client.post(ADD, calendar_form(desk.triage)))
    assert "Add working hours on at least one day, or tick 24/7" in text


def test_the_same_date_added_twice_is_refused(manager_client, desk):
    holidays = [("2026-12-31", "Year-end close"), ("2026-12-31", "Again")]
    text = _errors(manager_client.post(ADD, calendar_form(desk.triage, spans=OFFICE, holidays=holidays)))
    assert "Please correct the duplicate data for date" in text


def test_a_board_has_one_calendar(manager_client, desk):
    Calendar.objects.create(board=desk.triage, time_zone="Europe/London", always_open=True)
    response = manager_client.post(ADD, calendar_form(desk.triage, spans=OFFICE))
    assert "Calendar with this Board already exists." in response.text
    assert Calendar.objects.count() == 1


def test_the_database_refuses_a_backwards_span_too(desk):
    calendar = Calendar.objects.create(board=desk.triage, time_zone="Europe/London")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingSpan.objects.create(calendar=calendar, weekday=0, start="18:00", end="08:00")
    WorkingSpan.objects.create(calendar=calendar, weekday=0, start="22:00", end="00:00")
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 31), name="Year-end close")
    with pytest.raises(IntegrityError), transaction.atomic():
        Holiday.objects.create(calendar=calendar, date=date(2026, 12, 31), name="Twice")


def test_a_technician_cannot_open_calendars(client, tier1):
    client.force_login(tier1)
    assert client.get(ADD).status_code == 302
