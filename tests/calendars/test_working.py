"""calendars.working: the one definition of working time, checked against a board's clocks."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from boards.models import Board
from calendars.working import (
    NoWorkingTime,
    add_working_minutes,
    add_working_time,
    calendars_of,
    is_working,
    load_calendar,
    load_calendars,
    resumes_at,
    working_seconds_between,
    working_time_between,
)
from tests.calendars.conftest import EVERY_DAY, WEEKDAYS
from tests.factories import make_ticket

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Friday 27 November 2026, ten to six in the evening in London.
NOW = datetime(2026, 11, 27, 17, 50, tzinfo=LONDON)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --- The Friday-evening ticket -------------------------------------------------------


def test_friday_evening_ticket_on_a_30_minute_limit_is_due_monday_0820(make_calendar):
    office = make_calendar()
    due = add_working_minutes(office, NOW, 30)
    assert due == london(2026, 11, 30, 8, 20)
    assert due.tzinfo is UTC
    assert working_seconds_between(office, NOW, due) == 30 * 60


def test_a_ticket_opened_friday_evening_gets_its_deadline_monday_morning(desk, make_calendar):
    """The integration recipe, with frozen time: the clock starts at the real moment, counts working time."""
    office = make_calendar()
    with time_machine.travel(NOW, tick=False):
        ticket = make_ticket(board=desk.triage)
        limit = timedelta(minutes=desk.criteria["Tier 1 time limit"].time_limit_minutes)
        deadline = add_working_time(office, ticket.clock_started_at, limit - ticket.active_time)
        assert is_working(office, timezone.now())
    assert deadline == london(2026, 11, 30, 8, 20)

    # Saturday: the card says paused, resumes Monday 08:00, and no working time passes.
    with time_machine.travel(london(2026, 11, 28, 11, 0), tick=False):
        now = timezone.now()
        assert not is_working(office, now)
        assert resumes_at(office, now) == london(2026, 11, 30, 8, 0)
        assert working_time_between(office, ticket.clock_started_at, now) == timedelta(minutes=10)
        assert working_time_between(office, now, deadline) == timedelta(minutes=20)


def test_a_limit_used_up_exactly_at_closing_is_due_at_closing(make_calendar):
    office = make_calendar()
    assert add_working_minutes(office, london(2026, 11, 27, 17, 30), 30) == london(2026, 11, 27, 18, 0)


def test_a_ticket_arriving_overnight_starts_counting_at_opening(make_calendar):
    office = make_calendar()
    assert add_working_minutes(office, london(2026, 11, 25, 3, 12), 30) == london(2026, 11, 25, 8, 30)
    assert working_time_between(office, london(2026, 11, 25, 3, 12), london(2026, 11, 25, 8, 30)) == hours(0.5)


def test_is_working_and_resumes_at_around_the_edges(make_calendar):
    office = make_calendar()
    assert is_working(office, london(2026, 11, 27, 8, 0))  # opening is working time
    assert not is_working(office, london(2026, 11, 27, 18, 0))  # closing is not
    assert resumes_at(office, london(2026, 11, 27, 18, 0)) == london(2026, 11, 30, 8, 0)
    assert resumes_at(office, london(2026, 11, 27, 7, 59)) == london(2026, 11, 27, 8, 0)
    at = london(2026, 11, 27, 12, 0)
    assert resumes_at(office, at) == at  # already working: now


def test_several_spans_a_day_leave_lunch_out(make_calendar):
    split = make_calendar({WEEKDAYS: [("08:00", "12:00"), ("13:00", "17:00")]})
    assert add_working_minutes(split, london(2026, 11, 25, 11, 45), 30) == london(2026, 11, 25, 13, 15)
    assert not is_working(split, london(2026, 11, 25, 12, 30))
    assert resumes_at(split, london(2026, 11, 25, 12, 30)) == london(2026, 11, 25, 13, 0)
    assert working_time_between(split, london(2026, 11, 25), london(2026, 11, 26)) == hours(8)


# --- Holidays -------------------------------------------------------------------------


def test_a_country_holiday_is_skipped(make_calendar):
    england = make_calendar(country="GB", subdivision="ENG")
    # Christmas Eve is a Thursday; Christmas and (observed) Boxing Day take Friday and Monday.
    due = add_working_minutes(england, london(2026, 12, 24, 17, 50), 30)
    assert due == london(2026, 12, 29, 8, 20)
    assert not is_working(england, london(2026, 12, 28, 10, 0))
    assert resumes_at(england, london(2026, 12, 24, 18, 0)) == london(2026, 12, 29, 8, 0)


def test_a_region_has_its_own_holidays(make_calendar, desk):
    # St Andrew's Day, Monday 30 November 2026, is a holiday in Scotland, not in England.
    scotland = make_calendar(country="GB", subdivision="SCT")
    england = make_calendar(board=desk.support, country="GB", subdivision="ENG")
    assert add_working_minutes(scotland, NOW, 30) == london(2026, 12, 1, 8, 20)
    assert add_working_minutes(england, NOW, 30) == london(2026, 11, 30, 8, 20)


def test_a_date_a_manager_added_is_skipped(make_calendar):
    offsite = make_calendar(added=[(date(2026, 11, 30), "Team offsite")])
    assert add_working_minutes(offsite, NOW, 30) == london(2026, 12, 1, 8, 20)
    assert working_time_between(offsite, NOW, london(2026, 12, 1, 8, 20)) == timedelta(minutes=30)


def test_a_long_limit_runs_across_the_weekend_and_the_holidays(make_calendar):
    england = make_calendar(country="GB", subdivision="ENG", added=[(date(2026, 12, 31), "Year-end close")])
    start = london(2026, 12, 24, 10, 0)
    # Three working days of 10 h: Thu 24th 8 h; Fri 25th, the weekend, Mon 28th off;
    # Tue 29th and Wed 30th 10 h each; Thu 31st added; Fri 1 Jan New Year; Mon 4 Jan 2 h.
    due = add_working_minutes(england, start, 3 * 10 * 60)
    assert due == london(2027, 1, 4, 10, 0)
    assert working_time_between(england, start, due) == hours(30)


def test_a_months_long_pause_counts_only_working_days(make_calendar):
    england = make_calendar(country="GB", subdivision="ENG")
    # 2026 in England: 261 weekdays, 8 bank holidays on weekdays (Boxing Day observed on the 28th).
    assert working_time_between(england, london(2026, 1, 1), london(2027, 1, 1)) == hours((261 - 8) * 10)
    # Two years and a bit, across three New Years (1 January 2028 is a Saturday: Monday the 3rd is off).
    assert working_time_between(england, london(2025, 12, 31, 12, 0), london(2028, 1, 4, 9, 0)) == (
        hours(6) + working_time_between(england, london(2026, 1, 1), london(2028, 1, 1)) + hours(1)
    )


# --- Daylight saving in the board's time zone ------------------------------------------


def test_spring_forward_keeps_monday_0800_local(make_calendar):
    office = make_calendar()
    # Clocks go forward on Sunday 29 March 2026: Friday is GMT (UTC+0), Monday BST (UTC+1).
    friday_five = london(2026, 3, 27, 17, 0)
    due = add_working_minutes(office, friday_five, 120)
    assert due == london(2026, 3, 30, 9, 0)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert working_time_between(office, friday_five, due) == hours(2)


def test_fall_back_keeps_monday_0800_local(make_calendar):
    office = make_calendar()
    # Clocks go back on Sunday 25 October 2026: Friday is BST, Monday GMT.
    friday_five = london(2026, 10, 23, 17, 0)
    due = add_working_minutes(office, friday_five, 120)
    assert due == london(2026, 10, 26, 9, 0)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert resumes_at(office, friday_five + hours(1)) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/London", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_on_both_dst_days_a_day_span_is_its_wall_clock_length_and_a_night_span_is_not(
    make_calendar, desk, zone, spring, autumn
):
    tz = ZoneInfo(zone)
    days = make_calendar({EVERY_DAY: [("08:00", "18:00")]}, time_zone=zone)
    nights = make_calendar({EVERY_DAY: [("00:00", "06:00")]}, time_zone=zone, board=desk.support)

    def worked(calendar, day: date) -> timedelta:
        return working_time_between(
            calendar, datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)
        )

    assert worked(days, spring) == worked(days, autumn) == hours(10)
    assert worked(nights, spring) == hours(5)  # the skipped hour is not worked
    assert worked(nights, autumn) == hours(7)  # the repeated hour is worked twice
    assert worked(nights, spring - timedelta(days=1)) == worked(nights, autumn + timedelta(days=1)) == hours(6)
    # Either way the night's work is done at 06:00 local: 5 hours in spring, 7 in autumn.
    assert add_working_minutes(nights, datetime.combine(spring, time(0), tz), 300) == datetime.combine(
        spring, time(6), tz
    )
    assert add_working_minutes(nights, datetime.combine(autumn, time(0), tz), 420) == datetime.combine(
        autumn, time(6), tz
    )


def test_a_span_boundary_in_the_skipped_hour_means_the_moment_the_clocks_jump(make_calendar):
    sundays = make_calendar({(6,): [("01:30", "03:00")]})
    spring = date(2026, 3, 29)
    # 01:30 never happens that night: work starts when the clocks jump from 01:00 GMT to 02:00 BST.
    assert resumes_at(sundays, london(2026, 3, 29, 0, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert working_time_between(sundays, london(2026, 3, 29), london(2026, 3, 30)) == hours(1)
    assert working_time_between(sundays, london(2026, 3, 22), london(2026, 3, 23)) == hours(1.5)
    assert add_working_minutes(sundays, london(2026, 3, 28, 12, 0), 60) == datetime.combine(spring, time(3), LONDON)


def test_a_span_boundary_in_the_repeated_hour_means_its_first_occurrence(make_calendar):
    sundays = make_calendar({(6,): [("00:00", "01:30")]})
    # 01:30 happens twice that night (BST, then GMT): the span ends at the first, 00:30 UTC.
    assert working_time_between(sundays, london(2026, 10, 25), london(2026, 10, 26)) == hours(1.5)
    assert add_working_minutes(sundays, london(2026, 10, 25), 90) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert not is_working(sundays, datetime(2026, 10, 25, 1, 15, tzinfo=UTC))  # the second 01:15


# --- Night shifts: two spans joined across midnight ----------------------------------------


def test_a_night_shift_entered_as_two_spans_runs_through_midnight(make_calendar):
    # Mon–Fri 22:00–24:00, then Tue–Sat 00:00–06:00.
    nights = make_calendar({WEEKDAYS: [("22:00", "00:00")], (1, 2, 3, 4, 5): [("00:00", "06:00")]})
    monday_late = london(2026, 11, 23, 23, 50)
    assert add_working_minutes(nights, monday_late, 30) == london(2026, 11, 24, 0, 20)
    assert is_working(nights, london(2026, 11, 24, 0, 0))
    assert working_time_between(nights, london(2026, 11, 23, 22, 0), london(2026, 11, 24, 6, 0)) == hours(8)
    # Saturday 06:00 ends the week; Monday 22:00 starts the next.
    assert resumes_at(nights, london(2026, 11, 28, 6, 0)) == london(2026, 11, 30, 22, 0)


# --- Wall time: no calendar, or 24/7 ------------------------------------------------------


@pytest.mark.parametrize("kind", ["none", "24/7"])
def test_no_calendar_and_24_7_are_plain_wall_time(make_calendar, desk, kind):
    calendar = None if kind == "none" else make_calendar(board=desk.noc, always_open=True)
    # The night the clocks go back: five real hours from 23:00 BST to 03:00 GMT.
    start = london(2026, 10, 24, 23, 0)
    assert add_working_minutes(calendar, start, 5 * 60) == london(2026, 10, 25, 3, 0)
    assert add_working_time(calendar, start, hours(-1)) == london(2026, 10, 24, 22, 0)
    later = london(2026, 10, 25, 3, 0)
    assert working_time_between(calendar, start, later) == hours(5)
    assert working_time_between(calendar, later, start) == timedelta(0)
    assert is_working(calendar, start)
    assert resumes_at(calendar, start) == start


# --- add and between agree ----------------------------------------------------------------


def _reference_between(a: datetime, b: datetime, off: set[date]) -> timedelta:
    """A slow, obvious Mon–Fri 08:00–18:00 London: day by day."""
    total = timedelta(0)
    day = a.astimezone(LONDON).date() - timedelta(days=1)
    while day <= b.astimezone(LONDON).date():
        if day.weekday() < 5 and day not in off:
            start = max(a, datetime.combine(day, time(8), LONDON))
            end = min(b, datetime.combine(day, time(18), LONDON))
            total += max(end - start, timedelta(0))
        day += timedelta(days=1)
    return total


def test_between_matches_a_day_by_day_count_and_add_lands_where_between_says(make_calendar):
    england = make_calendar(country="GB", subdivision="ENG", added=[(date(2026, 8, 14), "Summer close")])
    from calendars.working import public_holidays

    off = {date(2026, 8, 14)} | public_holidays("GB", "ENG", 2026) | public_holidays("GB", "ENG", 2027)
    rng = random.Random(10)
    origin = london(2026, 1, 1)
    for _ in range(300):
        start = origin + timedelta(seconds=rng.randrange(300 * 86_400), microseconds=rng.randrange(10**6))
        x = start + timedelta(seconds=rng.randrange(120 * 86_400), microseconds=rng.randrange(10**6))
        between = working_time_between(england, start, x)
        assert between == _reference_between(start, x, off), (start, x)
        landed = add_working_time(england, start, between)
        if is_working(england, x):
            assert landed == x, (start, x)
        else:
            # Outside hours, the earliest moment with that much work done is the last closing before x.
            assert landed <= x
            assert working_time_between(england, landed, x) == timedelta(0)
        amount = timedelta(minutes=rng.randrange(1, 5 * 600))
        assert working_time_between(england, start, add_working_time(england, start, amount)) == amount


def test_add_lands_on_the_closing_before_an_opening(make_calendar):
    office = make_calendar()
    monday_opening = london(2026, 11, 30, 8, 0)
    # Monday 08:00 is working time, but the same work was already done at Friday's closing.
    assert add_working_time(office, NOW, working_time_between(office, NOW, monday_opening)) == london(
        2026, 11, 27, 18, 0
    )


# --- Loading, and calendars without hours --------------------------------------------------


def test_loading_reads_a_calendar_in_three_queries_and_then_none(make_calendar, desk, django_assert_num_queries):
    make_calendar(country="GB", subdivision="ENG", added=[(date(2026, 12, 31), "Year-end close")])
    make_calendar(board=desk.noc, always_open=True)
    with django_assert_num_queries(3):
        office = load_calendar(desk.triage)
    with django_assert_num_queries(1):
        assert load_calendar(desk.support.pk) is None
    with django_assert_num_queries(0):
        assert add_working_minutes(office, NOW, 30) == london(2026, 11, 30, 8, 20)
    with django_assert_num_queries(3):
        calendars = load_calendars([desk.noc, desk.triage, desk.support])
    assert set(calendars) == {desk.noc.pk, desk.triage.pk, desk.support.pk}
    assert calendars[desk.support.pk] is None
    with django_assert_num_queries(0):
        assert calendars[desk.noc.pk].always_open
        assert add_working_minutes(calendars[desk.triage.pk], NOW, 30) == london(2026, 11, 30, 8, 20)


def test_a_board_read_with_its_calendar_is_not_asked_again(make_calendar, desk, django_assert_num_queries):
    """The move's lock and the board pages read the board with its calendar: a 24/7 one or none costs
    no further query, one with hours only its spans and holidays."""
    make_calendar(country="GB", subdivision="ENG", added=[(date(2026, 12, 31), "Year-end close")])
    make_calendar(board=desk.noc, always_open=True)
    boards = {b.slug: b for b in Board.objects.select_related("calendar")}
    with django_assert_num_queries(0):
        calendars = calendars_of([boards["noc"], boards["support"]])
    assert calendars[desk.noc.pk].always_open
    assert calendars[desk.support.pk] is None
    with django_assert_num_queries(2):
        office = calendars_of([boards["triage"]])[desk.triage.pk]
    assert add_working_minutes(office, NOW, 30) == london(2026, 11, 30, 8, 20)
    # A board read without it is loaded, as load_calendars does.
    noc = Board.objects.get(pk=desk.noc.pk)
    with django_assert_num_queries(3):
        assert calendars_of([noc])[desk.noc.pk].always_open


def test_a_calendar_without_hours_never_runs(make_calendar):
    empty = make_calendar({})
    assert not is_working(empty, NOW)
    assert resumes_at(empty, NOW) is None
    assert working_time_between(empty, NOW, NOW + timedelta(days=30)) == timedelta(0)
    with pytest.raises(NoWorkingTime):
        add_working_minutes(empty, NOW, 1)


def test_naive_datetimes_are_refused(make_calendar):
    office = make_calendar()
    with pytest.raises(ValueError, match="aware"):
        add_working_minutes(office, datetime(2026, 11, 27, 17, 50), 30)


def test_a_midnight_that_never_happens_starts_the_day_when_the_clocks_jump(make_calendar):
    # Chile springs forward at midnight: Sunday 6 September 2026 begins at 01:00.
    santiago = ZoneInfo("America/Santiago")
    nights = make_calendar({(6,): [("00:00", "06:00")]}, time_zone="America/Santiago")
    sunday = datetime(2026, 9, 5, 12, 0, tzinfo=santiago)
    assert resumes_at(nights, sunday) == datetime(2026, 9, 6, 1, 0, tzinfo=santiago)
    assert working_time_between(nights, sunday, sunday + timedelta(days=1)) == hours(5)


def test_banked_time_pauses_over_the_weekend_as_routing_will_bank_it(make_calendar):
    """The recipe in calendars.working's docstring: bank each stretch, add the rest from the restart."""
    office = make_calendar()
    limit = timedelta(minutes=30)
    # Active Friday 17:50–17:55, then waiting on the customer over the weekend.
    banked = working_time_between(office, NOW, london(2026, 11, 27, 17, 55))
    assert banked == timedelta(minutes=5)
    # Back to active on Saturday: the clock restarts, the deadline is Monday 08:25.
    restart = london(2026, 11, 28, 10, 0)
    assert add_working_time(office, restart, limit - banked) == london(2026, 11, 30, 8, 25)
    # Back to active on Monday 10:00 instead: 10:25.
    assert add_working_time(office, london(2026, 11, 30, 10, 0), limit - banked) == london(2026, 11, 30, 10, 25)


def test_add_and_between_agree_through_both_dst_nights(make_calendar):
    # Sundays start in the hour that is skipped in spring and repeated in autumn.
    nights = make_calendar(
        {
            (0, 1, 2, 3, 4, 5): [("00:00", "06:00"), ("22:00", "00:00")],
            (6,): [("01:30", "03:00"), ("04:00", "06:00"), ("22:00", "00:00")],
        }
    )
    rng = random.Random(29)
    for around in (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)):
        for _ in range(200):
            start = around + timedelta(seconds=rng.randrange(-3 * 86_400, 86_400))
            x = start + timedelta(seconds=rng.randrange(3 * 86_400), microseconds=rng.randrange(10**6))
            if is_working(nights, x):
                assert add_working_time(nights, start, working_time_between(nights, start, x)) == x, (start, x)
            amount = timedelta(seconds=rng.randrange(1, 20 * 3600))
            assert working_time_between(nights, start, add_working_time(nights, start, amount)) == amount
