"""Opening many tickets at once (intake's deliveries) gives what opening them one by one gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from boards.models import Board, Ticket
from routing import services
from routing.models import Move

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)

TICKET_FIELDS = [
    "title",
    "board_id",
    "column_id",
    "tier",
    "version",
    "priority",
    "needs_onsite",
    "created_at",
    "updated_at",
    "entered_board_at",
    "resolved_at",
    "active_time",
    "clock_started_at",
    "deadline_at",
    "deadline_criterion_id",
]
MOVE_FIELDS = ["from_board_id", "to_board_id", "to_column_id", "to_tier", "direction", "criterion_id", "note"]


def new_tickets(desk) -> list[Ticket]:
    """A cast for each path through opening: an entry column, a given column, a done column, a condition met."""
    return [
        Ticket(board=desk.triage, title="Printer jams"),
        Ticket(board=desk.triage, column=desk.triage.columns.get(name="In progress"), title="Already on it"),
        Ticket(board=desk.noc, column=desk.noc.columns.get(name="Resolved"), title="Recovered by itself"),
        Ticket(board=desk.noc, title="UPS on battery, needs a visit", needs_onsite=True),
        Ticket(board=desk.support, tier=2, priority=1, title="Server room flooded"),
    ]


def opened(tickets: list[Ticket]) -> list[tuple]:
    rows = []
    for ticket in tickets:
        row = Ticket.objects.filter(pk=ticket.pk).values(*TICKET_FIELDS).get()
        moves = list(Move.objects.filter(ticket_id=ticket.pk).order_by("pk").values(*MOVE_FIELDS))
        rows.append((row, moves))
    return rows


def test_open_tickets_leaves_what_open_ticket_leaves_one_by_one(desk):
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():
            one_by_one = [services.open_ticket(ticket, actor=None) for ticket in new_tickets(desk)]
            expected = opened(one_by_one)
            transaction.set_rollback(True)

        at_once = services.open_tickets(new_tickets(desk), actor=None)

    assert opened(at_once) == expected
    # The onsite ticket met "Needs onsite visit (from NOC)" on arrival, as it does alone.
    row, moves = opened(at_once)[3]
    assert row["board_id"] == desk.support.pk and len(moves) == 2
    assert at_once[3].board == desk.support  # the caller's object says where it is now


def test_opening_500_tickets_costs_the_statements_of_opening_5(desk):
    def statements(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            services.open_tickets([Ticket(board=desk.noc, title=f"Alert {n}") for n in range(count)], actor=None)
        return len(queries.captured_queries)

    few, many = statements(5), statements(500)
    # Entry column, criteria, calendars (one read: NOC has none here), tickets, Moves, bump, conditions,
    # and the test's savepoint.
    assert few <= 9
    if connection.vendor == "postgresql":  # SQLite caps a statement's parameters: it takes a few more
        assert many == few


def test_a_board_without_columns_opens_none_of_the_batch(desk):
    empty = Board.objects.create(name="Empty", slug="empty")
    before = Ticket.objects.count()

    with pytest.raises(services.NotAllowed, match="The Empty board has no columns yet"):
        services.open_tickets([Ticket(board=desk.noc, title="Fine"), Ticket(board=empty, title="Nowhere")], actor=None)

    assert Ticket.objects.count() == before
