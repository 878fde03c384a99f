"""A stale drag gets a clear conflict, never a silent overwrite."""

from datetime import UTC, datetime, timedelta

import pytest

from routing import services
from routing.models import Direction
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_stale_version_names_who_moved_the_ticket_and_where(desk, tier1, tier2):
    ticket = make_ticket(board=desk.triage, now=NOW)
    seen = ticket.version
    services.move_ticket(
        ticket,
        actor=tier2,
        expected_version=seen,
        to_column=desk.triage.columns.get(name="In progress"),
        now=NOW + timedelta(minutes=2),
    )

    with pytest.raises(services.Conflict) as caught:
        services.move_ticket(
            ticket,
            actor=tier1,
            expected_version=seen,
            criterion=desk.criteria["Beyond this tier"],
            direction=Direction.ESCALATE,
        )

    assert str(caught.value) == f"#{ticket.pk} was just moved by Sam Support to Triage · In progress."
    ticket.refresh_from_db()
    assert (ticket.board, ticket.version) == (desk.triage, seen + 1)


def test_a_conflict_with_the_scheduler_says_so(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(NOW + timedelta(minutes=30))

    with pytest.raises(services.Conflict, match="was just moved by the scheduler to Support · New"):
        services.move_ticket(
            ticket, actor=tier1, expected_version=ticket.version, to_column=desk.triage.columns.get(name="Resolved")
        )


def test_the_version_the_caller_saw_lets_the_move_through(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    move = services.move_ticket(
        ticket, actor=tier1, expected_version=ticket.version, to_column=desk.triage.columns.get(name="In progress")
    )

    assert move.ticket.version == ticket.version + 1


def test_a_move_to_where_the_ticket_is_changes_nothing(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    assert services.move_ticket(ticket, actor=tier1, expected_version=ticket.version, to_column=ticket.column) is None
    ticket.refresh_from_db()
    assert ticket.version == 1
