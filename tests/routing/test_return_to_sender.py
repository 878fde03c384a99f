"""Return to sender: a de-escalation back to the board and tier that escalated the ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from boards.services import update_ticket
from routing import services
from routing.models import Criterion, Direction
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


@pytest.fixture
def return_to_sender(desk):
    criterion = Criterion(
        name="Return to sender",
        direction=Direction.DE_ESCALATE,
        trigger=Criterion.Trigger.MANUAL,
        from_board=desk.support,
        to_sender=True,
    )
    criterion.full_clean()
    criterion.save()
    return criterion


def test_return_to_sender_goes_back_to_noc_or_triage_whichever_sent_it(desk, tier1, tier2, return_to_sender):
    from_triage = make_ticket(board=desk.triage, now=NOW)
    assert services.sweep(minutes(30)) == 1  # the Tier 1 time limit: Triage tier 1 → Support tier 2
    from_noc = make_ticket(board=desk.noc, tier=1, now=NOW)
    update_ticket(from_noc, actor=tier2, expected_version=None, needs_onsite=True, now=minutes(5))  # NOC → Support

    for ticket, board, tier in ((from_triage, desk.triage, 1), (from_noc, desk.noc, 1)):
        ticket.refresh_from_db()
        assert ticket.board == desk.support
        offered = services.manual_criteria(ticket, Direction.DE_ESCALATE, to_board=board)
        assert return_to_sender in offered
        move = services.move_ticket(
            ticket, actor=tier2, expected_version=None, criterion=return_to_sender, now=minutes(60)
        )
        ticket.refresh_from_db()
        assert (ticket.board, ticket.tier) == (board, tier)
        assert ticket.column == board.entry_column()
        assert move.direction == Direction.DE_ESCALATE and move.criterion == return_to_sender


def test_a_tier_step_on_support_does_not_make_support_the_sender(desk, tier1, tier2, return_to_sender):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(minutes(30))
    services.move_ticket(
        ticket, actor=tier2, expected_version=None, criterion=desk.criteria["Beyond this tier (Support tier 2 → 3)"],
        now=minutes(40),
    )  # fmt: skip
    services.move_ticket(ticket, actor=tier2, expected_version=None, criterion=return_to_sender, now=minutes(50))
    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier) == (desk.triage, 1)


def test_a_ticket_opened_on_support_has_no_sender(desk, tier2, return_to_sender):
    ticket = make_ticket(board=desk.support, tier=2, now=NOW)
    assert return_to_sender not in services.manual_criteria(ticket, Direction.DE_ESCALATE)
    with pytest.raises(services.NotAllowed, match="nothing escalated"):
        services.move_ticket(ticket, actor=tier2, expected_version=None, criterion=return_to_sender, now=minutes(5))


def test_return_to_sender_is_a_de_escalation_without_a_fixed_target(desk):
    wrong = Criterion(
        name="Sideways", direction=Direction.TRANSFER, trigger="manual", to_sender=True, from_board=desk.support
    )
    with pytest.raises(ValidationError, match="Return to sender is a de-escalation"):
        wrong.full_clean()
    both = Criterion(name="Both", direction=Direction.DE_ESCALATE, trigger="manual", to_sender=True, to_board=desk.noc)
    with pytest.raises(ValidationError, match="leave the target board"):
        both.full_clean()
