"""The board's clocks on its calendar: deadlines, the sweep, the recompute and the countdown agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from boards.models import Ticket
from calendars.working import add_working_minutes, pause_label, working_time_between
from routing import services
from routing.models import Criterion, Move
from tests.factories import make_ticket

LONDON = ZoneInfo("Europe/London")


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def column(board, name):
    return board.columns.get(name=name)


def open_at(board, at: datetime, **fields) -> Ticket:
    with time_machine.travel(at, tick=False):
        return make_ticket(board=board, now=timezone.now(), **fields)


def escalated(ticket: Ticket) -> bool:
    return Move.objects.filter(ticket=ticket, criterion__trigger=Criterion.Trigger.TIME).exists()


# --- Friday evening ------------------------------------------------------------------


def test_a_friday_evening_ticket_is_due_monday_0820_and_the_sweep_waits_for_it(desk, make_calendar):
    make_calendar()  # Triage: Mon–Fri 08:00–18:00, Europe/London
    ticket = open_at(desk.triage, london(2026, 3, 6, 17, 50))  # a Friday

    assert ticket.deadline_at == london(2026, 3, 9, 8, 20)
    # Overnight and all weekend nothing fires: the wall-clock 30 minutes passed on Friday.
    for moment in (london(2026, 3, 6, 18, 20), london(2026, 3, 7, 12, 0), london(2026, 3, 9, 8, 19, 59)):
        assert services.sweep(moment) == 0
    assert services.sweep(london(2026, 3, 9, 8, 20)) == 1
    ticket.refresh_from_db()
    assert ticket.board == desk.support


def test_active_time_banks_only_working_minutes(desk, make_calendar, tier1):
    make_calendar()
    ticket = open_at(desk.triage, london(2026, 3, 6, 17, 50))

    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=None,
        to_column=column(desk.triage, "Waiting on customer"),
        now=london(2026, 3, 9, 8, 5),
    )
    ticket.refresh_from_db()
    # Ten minutes on Friday and five on Monday; the weekend did not count.
    assert ticket.active_time == timedelta(minutes=15)
    assert ticket.deadline_at is None

    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=None,
        to_column=column(desk.triage, "In progress"),
        now=london(2026, 3, 9, 17, 55),
    )
    ticket.refresh_from_db()
    # Fifteen minutes left from Monday 17:55: five tonight, ten on Tuesday morning.
    assert ticket.deadline_at == london(2026, 3, 10, 8, 10)


def test_a_ticket_arriving_overnight_is_due_30_minutes_after_opening(desk, make_calendar):
    make_calendar()
    ticket = open_at(desk.triage, london(2026, 3, 10, 3, 0))
    assert ticket.deadline_at == london(2026, 3, 10, 8, 30)


def test_noc_on_24_7_keeps_wall_time(desk, make_calendar):
    make_calendar(board=desk.noc, always_open=True)
    make_calendar()
    Criterion.objects.create(
        name="NOC limit", direction="escalate", trigger="time", from_board=desk.noc, to_board=desk.support,
        time_limit_minutes=20,
    )  # fmt: skip
    ticket = open_at(desk.noc, london(2026, 3, 7, 23, 50))  # Saturday night
    assert ticket.deadline_at == london(2026, 3, 8, 0, 10)


# --- Holidays ------------------------------------------------------------------------------


def test_easter_is_skipped_good_friday_to_easter_monday(desk, make_calendar):
    make_calendar(country="GB", subdivision="ENG")
    ticket = open_at(desk.triage, london(2026, 4, 2, 17, 50))  # Thursday before Good Friday (3 April)
    # Good Friday, the weekend and Easter Monday (6 April) are days off.
    assert ticket.deadline_at == london(2026, 4, 7, 8, 20)
    assert services.sweep(london(2026, 4, 6, 12, 0)) == 0
    assert services.sweep(london(2026, 4, 7, 8, 20)) == 1


def test_a_day_the_manager_added_is_skipped(desk, make_calendar):
    make_calendar(added=[(date(2026, 3, 9), "Office move")])
    ticket = open_at(desk.triage, london(2026, 3, 6, 17, 50))
    assert ticket.deadline_at == london(2026, 3, 10, 8, 20)


# --- Daylight saving in the board's zone --------------------------------------------------


def test_spring_forward_weekend_still_due_at_0820_local(desk, make_calendar):
    make_calendar()
    # Friday 27 March 2026 17:50 GMT; the clocks go forward on Sunday 29 March.
    ticket = open_at(desk.triage, london(2026, 3, 27, 17, 50))
    assert ticket.deadline_at == london(2026, 3, 30, 8, 20)
    assert ticket.deadline_at == datetime(2026, 3, 30, 7, 20, tzinfo=UTC)  # BST is UTC+1
    assert services.sweep(datetime(2026, 3, 30, 7, 19, tzinfo=UTC)) == 0  # 08:19 BST
    assert services.sweep(datetime(2026, 3, 30, 7, 20, tzinfo=UTC)) == 1


def test_fall_back_weekend_still_due_at_0820_local(desk, make_calendar):
    make_calendar()
    # Friday 23 October 2026 17:50 BST; the clocks go back on Sunday 25 October.
    ticket = open_at(desk.triage, london(2026, 10, 23, 17, 50))
    assert ticket.deadline_at == london(2026, 10, 26, 8, 20)
    assert ticket.deadline_at == datetime(2026, 10, 26, 8, 20, tzinfo=UTC)  # GMT again
    assert services.sweep(datetime(2026, 10, 26, 7, 20, tzinfo=UTC)) == 0  # the wall clock's "08:20 BST"
    assert services.sweep(datetime(2026, 10, 26, 8, 20, tzinfo=UTC)) == 1


def test_a_night_shift_through_both_dst_nights_counts_the_hours_really_worked(desk, make_calendar):
    # Every night 00:00–06:00: five real hours on the spring night, seven on the autumn one.
    make_calendar({(0, 1, 2, 3, 4, 5, 6): [("00:00", "06:00")]})
    Criterion.objects.filter(name="Tier 1 time limit").update(time_limit_minutes=6 * 60)
    spring = open_at(desk.triage, london(2026, 3, 29, 0, 0))
    autumn = open_at(desk.triage, london(2026, 10, 25, 0, 0))
    # Spring: 5 h that night (01:00–02:00 never happens), the sixth hour the next night.
    assert spring.deadline_at == london(2026, 3, 30, 1, 0)
    # Autumn: 01:00–02:00 happens twice, so six hours are done at the second 01:00 … i.e. 05:00 local.
    assert autumn.deadline_at == london(2026, 10, 25, 5, 0)


# --- One arithmetic: the move, the recompute, the sweep's re-check and the countdown ----------


def test_recompute_after_a_limit_change_agrees_with_a_move_and_the_countdown(desk, make_calendar, tier1):
    make_calendar(country="GB", subdivision="ENG")
    opened = [
        london(2026, 3, 6, 17, 50),
        london(2026, 3, 7, 10, 0),
        london(2026, 3, 9, 9, 13),
        london(2026, 3, 27, 17, 0),
    ]
    tickets = [open_at(desk.triage, at) for at in opened]
    services.move_ticket(
        tickets[2], actor=tier1, expected_version=None, to_column=column(desk.triage, "In progress"),
        now=london(2026, 3, 9, 9, 20),
    )  # fmt: skip

    limit = Criterion.objects.get(name="Tier 1 time limit")
    limit.time_limit_minutes = 75
    limit.save()
    services.recompute_deadlines()

    for ticket in tickets:
        ticket.refresh_from_db()
        expected = add_working_minutes(
            ticket.board.calendar, ticket.clock_started_at, 75 - ticket.active_time / timedelta(minutes=1)
        )
        assert ticket.deadline_at == expected
        # What a move at the same moment would have computed (a move to the same column re-derives nothing;
        # _set_deadline is the door's own).
        copy = Ticket.objects.select_related("board").get(pk=ticket.pk)
        services._set_deadline(copy, services.active_time_criteria(), ticket.board.calendar)
        assert copy.deadline_at == ticket.deadline_at
        # The countdown: the working time left equals the limit less the working time used.
        used = ticket.active_time + working_time_between(
            ticket.board.calendar, ticket.clock_started_at, ticket.deadline_at
        )
        assert used == timedelta(minutes=75)

    # Friday 17:50 + 75 working minutes: 10 on Friday, 65 on Monday → 09:05.
    assert tickets[0].deadline_at == london(2026, 3, 9, 9, 5)


def test_the_sweep_rechecks_a_wall_time_deadline_against_a_calendar_added_since(desk, make_calendar):
    ticket = open_at(desk.triage, london(2026, 3, 6, 17, 50))
    assert ticket.deadline_at == london(2026, 3, 6, 18, 20)  # no calendar yet: wall time
    make_calendar()  # added with no recompute (e.g. written in the shell)

    assert services.sweep(london(2026, 3, 6, 18, 20)) == 0
    ticket.refresh_from_db()
    assert ticket.deadline_at == london(2026, 3, 9, 8, 20)
    assert not escalated(ticket)


def test_the_card_says_paused_outside_hours_and_when_it_resumes(desk, make_calendar):
    office = make_calendar()
    assert pause_label(office, london(2026, 3, 6, 18, 0)) == "paused · outside hours, resumes Mon 08:00"
    assert pause_label(office, london(2026, 3, 9, 7, 59)) == "paused · outside hours, resumes Mon 08:00"
    assert pause_label(office, london(2026, 3, 9, 8, 0)) is None
    assert pause_label(None, london(2026, 3, 7, 3, 0)) is None  # no calendar: always running
