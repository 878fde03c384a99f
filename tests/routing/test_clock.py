"""The clock behind time criteria: only active minutes on the current board count."""

from datetime import UTC, datetime, timedelta

from routing import services
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def column(board, name):
    return board.columns.get(name=name)


def test_a_new_triage_ticket_is_due_30_minutes_after_it_opens(desk):
    ticket = make_ticket(board=desk.triage, now=NOW)

    assert ticket.clock_started_at == NOW
    assert ticket.deadline_at == minutes(30)
    assert ticket.deadline_criterion.name == "Tier 1 time limit"


def test_waiting_on_the_customer_pauses_the_clock(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    waiting = column(desk.triage, "Waiting on customer")
    working = column(desk.triage, "In progress")

    services.move_ticket(ticket, actor=tier1, expected_version=None, to_column=waiting, now=minutes(10))
    ticket.refresh_from_db()
    assert ticket.active_time == timedelta(minutes=10)
    assert ticket.clock_started_at is None
    assert ticket.deadline_at is None

    services.move_ticket(ticket, actor=tier1, expected_version=None, to_column=working, now=minutes(30))
    ticket.refresh_from_db()
    # 10 minutes banked, 20 spent waiting: 20 active minutes left from +30.
    assert ticket.deadline_at == minutes(50)

    assert services.sweep(minutes(49)) == 0
    assert services.sweep(minutes(50)) == 1


def test_moving_between_active_columns_keeps_the_deadline(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=column(desk.triage, "In progress"), now=minutes(12)
    )
    ticket.refresh_from_db()

    assert ticket.active_time == timedelta(minutes=12)
    assert ticket.clock_started_at == minutes(12)
    assert ticket.deadline_at == minutes(30)


def test_done_stops_the_clock_and_clears_the_deadline(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=column(desk.triage, "Resolved"), now=minutes(20)
    )
    ticket.refresh_from_db()

    assert ticket.resolved_at == minutes(20)
    assert ticket.clock_started_at is None
    assert ticket.deadline_at is None and ticket.deadline_criterion is None
    assert services.sweep(minutes(120)) == 0


def test_reopening_a_done_ticket_restarts_the_clock_where_it_stopped(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=column(desk.triage, "Resolved"), now=minutes(20)
    )

    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=column(desk.triage, "In progress"), now=minutes(60)
    )
    ticket.refresh_from_db()

    assert ticket.resolved_at is None
    assert ticket.deadline_at == minutes(70)


def test_a_new_board_starts_a_new_clock(desk, tier2):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(minutes(30))
    ticket.refresh_from_db()
    assert ticket.board == desk.support

    user_error = desk.criteria["User error discovered"]
    services.move_ticket(ticket, actor=tier2, expected_version=ticket.version, criterion=user_error, now=minutes(45))
    ticket.refresh_from_db()

    assert ticket.board == desk.triage and ticket.tier == 1
    assert ticket.active_time == timedelta(0)
    assert ticket.entered_board_at == minutes(45)
    assert ticket.deadline_at == minutes(75)
