"""The sweep's set-based batch and the single-ticket door leave the same tickets and Moves.

Each situation is set up once; the door moves every ticket one by one (as a
technician's move or an old sweep would), then everything is rolled back and
one sweep moves them all as one batch. Tickets and Moves must come out the
same, field for field: the batch shares the door's rules, it only writes them
in fewer statements.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from boards.models import Board, Ticket
from routing import services
from routing.models import Criterion, Direction, Move
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SWEEP_AT = NOW + timedelta(hours=3)

TICKET_FIELDS = [
    "board_id",
    "column_id",
    "tier",
    "version",
    "active_time",
    "clock_started_at",
    "entered_board_at",
    "resolved_at",
    "deadline_at",
    "deadline_criterion_id",
    "updated_at",
]
MOVE_FIELDS = [
    "from_board_id",
    "from_column_id",
    "from_tier",
    "to_board_id",
    "to_column_id",
    "to_tier",
    "direction",
    "criterion_id",
    "actor_id",
    "note",
    "created_at",
]


def time_criterion(name: str, **fields) -> Criterion:
    return Criterion.objects.create(
        name=name, direction=fields.pop("direction", Direction.ESCALATE), trigger=Criterion.Trigger.TIME, **fields
    )


@pytest.fixture
def situations(desk, tier1):
    """One ticket per situation, all due at SWEEP_AT, each with some active time banked."""
    nowhere = Board.objects.create(name="Nowhere", slug="nowhere")
    support_waiting = desk.support.columns.get(name="Waiting on customer")
    time_criterion(
        "NOC time limit", direction=Direction.TRANSFER, from_board=desk.noc, to_board=desk.triage, time_limit_minutes=45
    )
    time_criterion("Tier 2 time limit", from_board=desk.support, from_tier=2, to_tier=3, time_limit_minutes=60)
    time_criterion(
        "Tier 3 parks with the customer",
        direction=Direction.TRANSFER,
        from_board=desk.triage,
        from_tier=3,
        to_board=desk.support,
        to_column=support_waiting,
        time_limit_minutes=20,
    )
    time_criterion("Tier 4 time limit", from_board=desk.triage, from_tier=4, to_board=nowhere, time_limit_minutes=5)
    services.recompute_deadlines()

    def opened(board, tier, column="In progress") -> Ticket:
        ticket = make_ticket(board=board, tier=tier, now=NOW)
        # Work, wait on the customer for a while, work again: the banked time counts.
        waiting = board.columns.filter(category="waiting").order_by("position").first()
        for minutes, to in ((3, column), (10, waiting.name), (25, column)):
            services.move_ticket(
                ticket,
                actor=tier1,
                expected_version=None,
                to_column=board.columns.get(name=to),
                now=NOW + timedelta(minutes=minutes),
            )
        return Ticket.objects.get(pk=ticket.pk)

    return {
        "board change": opened(desk.noc, 1),
        "board and tier change": opened(desk.triage, 1),
        "tier change": opened(desk.support, 2),
        "waiting column": opened(desk.triage, 3),
        "stuck target": opened(desk.triage, 4),
    }


def state(tickets: dict[str, Ticket]) -> dict[str, tuple]:
    """Each ticket's row and the Moves made since SWEEP_AT (pks left out: sequences are not rolled back)."""
    found = {}
    for name, ticket in tickets.items():
        row = Ticket.objects.filter(pk=ticket.pk).values(*TICKET_FIELDS).get()
        moves = list(Move.objects.filter(ticket=ticket, created_at__gte=SWEEP_AT).order_by("pk").values(*MOVE_FIELDS))
        found[name] = (row, moves)
    return found


def through_the_door(tickets: dict[str, Ticket]) -> None:
    for ticket in tickets.values():
        ticket = Ticket.objects.select_related("deadline_criterion").get(pk=ticket.pk)
        criterion = ticket.deadline_criterion
        # The stuck target: the door refuses (NotAllowed), the sweep leaves it out.
        with contextlib.suppress(services.NotAllowed):
            services.move_ticket(
                ticket,
                actor=None,
                expected_version=ticket.version,
                criterion=criterion,
                note=f"Time limit of {criterion.time_limit_minutes} active minutes reached.",
                now=SWEEP_AT,
            )


def test_the_batch_and_the_door_leave_identical_tickets_and_moves(desk, situations):
    with time_machine.travel(SWEEP_AT + timedelta(seconds=7), tick=False):
        with transaction.atomic():
            through_the_door(situations)
            by_door = state(situations)
            transaction.set_rollback(True)

        assert services.sweep(SWEEP_AT) == 4  # one batch; the stuck ticket left out
        by_batch = state(situations)

    assert by_batch == by_door
    # And the situations are what they say they are.
    row, moves = by_batch["board change"]
    assert (row["board_id"], moves[0]["to_tier"]) == (desk.triage.pk, 1)
    row, moves = by_batch["board and tier change"]
    assert (row["board_id"], row["tier"]) == (desk.support.pk, 2)
    row, moves = by_batch["tier change"]
    assert (row["board_id"], row["tier"], row["active_time"]) == (desk.support.pk, 3, timedelta(minutes=10 + 155))
    row, moves = by_batch["waiting column"]
    assert (row["clock_started_at"], row["deadline_at"]) == (None, None)
    assert row["column_id"] == desk.support.columns.get(name="Waiting on customer").pk
    row, moves = by_batch["stuck target"]
    assert moves == [] and row["deadline_at"] == NOW + timedelta(minutes=25 + 5 - 10)


def test_a_batch_writes_each_ticket_and_move_once_and_bumps_each_board_once(desk, situations):
    revisions = dict(Board.objects.values_list("pk", "revision"))

    assert services.sweep(SWEEP_AT) == 4

    after = dict(Board.objects.values_list("pk", "revision"))
    touched = {desk.noc.pk, desk.triage.pk, desk.support.pk}
    assert {pk: after[pk] - revisions[pk] for pk in after} == {pk: int(pk in touched) for pk in after}
    assert Move.objects.filter(created_at=SWEEP_AT).count() == 4
