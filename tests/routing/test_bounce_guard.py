"""Bounce guard: a ticket passed back and forth is flagged, and the scheduler leaves it to a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import services
from routing.models import BounceFlag
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def test_a_to_b_to_a_within_2_hours_flags_the_ticket_and_stops_automatic_moves(desk, tier1, tier2, settings):
    settings.BOUNCE_HOLDS_AUTOMATIC = True
    ticket = make_ticket(board=desk.triage, now=NOW)
    assert services.sweep(minutes(30)) == 1  # Triage → Support by the scheduler
    services.move_ticket(
        ticket, actor=tier2, expected_version=None, criterion=desk.criteria["User error discovered"], now=minutes(60)
    )  # Support → Triage within the hour: A → B → A
    ticket.refresh_from_db()
    flag = BounceFlag.objects.get(ticket=ticket)
    assert "Triage → Support → Triage" in flag.reason
    # The Tier 1 time limit would fire at +90; a flagged ticket waits for a person instead.
    assert ticket.deadline_at is None
    assert services.sweep(minutes(200)) == 0
    ticket.refresh_from_db()
    assert ticket.board == desk.triage

    # A person moves it: the flag is cleared and the clock's limit applies again.
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=desk.triage.columns.get(name="In progress"),
        now=minutes(210),
    )  # fmt: skip
    ticket.refresh_from_db()
    assert not BounceFlag.objects.filter(ticket=ticket).exists()
    assert ticket.deadline_at is not None
    assert services.sweep(ticket.deadline_at) == 1


def test_three_board_changes_in_24_hours_flag_the_ticket(desk, tier1, tier2, settings):
    settings.BOUNCE_RETURN_HOURS = 0  # only the count rule
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, criterion=desk.criteria["Beyond this tier"], now=minutes(10)
    )
    services.move_ticket(
        ticket, actor=tier2, expected_version=None, criterion=desk.criteria["User error discovered"], now=minutes(300)
    )
    assert not BounceFlag.objects.filter(ticket=ticket).exists()
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, criterion=desk.criteria["Beyond this tier"], now=minutes(600)
    )
    assert "3 board changes in 24 h" in BounceFlag.objects.get(ticket=ticket).reason


def test_without_the_hold_a_flagged_ticket_keeps_its_deadline(desk, tier2):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(minutes(30))
    services.move_ticket(
        ticket, actor=tier2, expected_version=None, criterion=desk.criteria["User error discovered"], now=minutes(60)
    )
    ticket.refresh_from_db()
    assert BounceFlag.objects.filter(ticket=ticket).exists()
    assert ticket.deadline_at == minutes(90)
