"""Criteria a technician picks by hand: they apply from one board, in one direction."""

from datetime import UTC, datetime, timedelta

import pytest

from routing import services
from routing.models import Direction, Move
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def on_support(desk, tier1):
    """A ticket a tier 1 technician escalated to Support by hand."""
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=ticket.version,
        criterion=desk.criteria["Beyond this tier"],
        direction=Direction.ESCALATE,
        now=NOW + timedelta(minutes=5),
    )
    ticket.refresh_from_db()
    return ticket


def snapshot(ticket):
    ticket.refresh_from_db()
    return (ticket.board_id, ticket.column_id, ticket.tier, ticket.version, ticket.moves.count())


def test_user_error_discovered_de_escalates_support_to_triage(desk, tier2, on_support):
    criterion = desk.criteria["User error discovered"]

    move = services.move_ticket(
        on_support,
        actor=tier2,
        expected_version=on_support.version,
        criterion=criterion,
        direction=Direction.DE_ESCALATE,
        note="Caps lock was on.",
        now=NOW + timedelta(minutes=20),
    )

    on_support.refresh_from_db()
    assert (on_support.board, on_support.column.name, on_support.tier) == (desk.triage, "New", 1)
    assert Move.objects.filter(ticket=on_support).latest("pk") == move
    assert (move.from_board, move.to_board) == (desk.support, desk.triage)
    assert (move.direction, move.criterion, move.actor, move.note) == (
        Direction.DE_ESCALATE,
        criterion,
        tier2,
        "Caps lock was on.",
    )


def test_onsite_complete_de_escalates_support_to_noc(desk, tier2, on_support):
    move = services.move_ticket(
        on_support,
        actor=tier2,
        expected_version=on_support.version,
        criterion=desk.criteria["Onsite complete"],
        direction=Direction.DE_ESCALATE,
        now=NOW + timedelta(minutes=90),
    )

    on_support.refresh_from_db()
    assert (on_support.board, on_support.tier) == (desk.noc, 1)
    assert (move.from_board, move.to_board, move.direction) == (desk.support, desk.noc, Direction.DE_ESCALATE)
    assert move.criterion.name == "Onsite complete"
    assert on_support.deadline_at is None  # NOC has no time criterion


def test_a_criterion_from_another_board_is_refused(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    before = snapshot(ticket)

    with pytest.raises(services.NotAllowed, match="“Onsite complete” does not apply to a tier 1 ticket on Triage"):
        services.move_ticket(
            ticket,
            actor=tier1,
            expected_version=ticket.version,
            criterion=desk.criteria["Onsite complete"],
            direction=Direction.DE_ESCALATE,
        )

    assert snapshot(ticket) == before


def test_a_criterion_in_the_wrong_direction_is_refused(desk, tier2, on_support):
    before = snapshot(on_support)

    with pytest.raises(services.NotAllowed, match="“User error discovered” is a de-escalate criterion, not escalate"):
        services.move_ticket(
            on_support,
            actor=tier2,
            expected_version=on_support.version,
            criterion=desk.criteria["User error discovered"],
            direction=Direction.ESCALATE,
        )

    assert snapshot(on_support) == before


def test_a_time_criterion_cannot_be_fired_by_hand(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    before = snapshot(ticket)

    with pytest.raises(services.NotAllowed, match="fired by the scheduler, not by hand"):
        services.move_ticket(
            ticket, actor=tier1, expected_version=ticket.version, criterion=desk.criteria["Tier 1 time limit"]
        )

    assert snapshot(ticket) == before


def test_a_criterion_switched_off_after_the_dialog_opened_is_refused(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    shown = desk.criteria["Beyond this tier"]  # the copy the dialog was drawn from
    type(shown).objects.filter(pk=shown.pk).update(active=False)
    before = snapshot(ticket)

    with pytest.raises(services.NotAllowed, match="“Beyond this tier” is switched off"):
        services.move_ticket(ticket, actor=tier1, expected_version=ticket.version, criterion=shown)

    assert snapshot(ticket) == before


def test_a_column_on_another_board_needs_a_criterion(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    before = snapshot(ticket)

    with pytest.raises(services.NotAllowed, match="on the Support board; moving there needs a criterion"):
        services.move_ticket(
            ticket, actor=tier1, expected_version=ticket.version, to_column=desk.support.entry_column()
        )

    assert snapshot(ticket) == before


def test_the_dialog_lists_only_criteria_from_this_board_in_that_direction(desk, on_support):
    names = lambda direction: [c.name for c in services.manual_criteria(on_support, direction)]  # noqa: E731

    assert names(Direction.DE_ESCALATE) == ["Onsite complete", "User error discovered"]
    assert names(Direction.ESCALATE) == ["Beyond this tier (Support tier 2 → 3)"]
    assert [c.name for c in services.manual_criteria(on_support, Direction.DE_ESCALATE, to_board=desk.noc)] == [
        "Onsite complete"
    ]


def test_a_tier_change_on_the_same_board_keeps_the_column(desk, tier2, on_support):
    services.move_ticket(
        on_support,
        actor=tier2,
        expected_version=on_support.version,
        criterion=desk.criteria["Beyond this tier (Support tier 2 → 3)"],
        direction=Direction.ESCALATE,
    )

    on_support.refresh_from_db()
    assert (on_support.board, on_support.column.name, on_support.tier) == (desk.support, "New", 3)
