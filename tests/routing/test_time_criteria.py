"""The seed's time rule: a tier 1 Triage ticket escalates after 30 active minutes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boards.models import Board, Ticket
from routing import services
from routing.models import Criterion, Direction, Move
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def test_tier1_ticket_stays_at_29_active_minutes_and_escalates_at_30(desk):
    with time_machine.travel(NOW, tick=False):
        ticket = make_ticket(board=desk.triage)
    assert ticket.deadline_at == minutes(30)

    assert services.sweep(minutes(29)) == 0
    ticket.refresh_from_db()
    assert (ticket.board, ticket.tier) == (desk.triage, 1)

    assert services.sweep(minutes(30)) == 1
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.board, ticket.column.name, ticket.tier) == (desk.support, "New", 2)
    escalations = Move.objects.filter(ticket=ticket, criterion__isnull=False)
    assert escalations.count() == 1
    move = escalations.get()
    assert move.actor is None
    assert move.criterion.name == "Tier 1 time limit"
    assert move.direction == Direction.ESCALATE
    assert (move.from_board, move.from_tier, move.to_tier) == (desk.triage, 1, 2)
    assert move.created_at == minutes(30)
    assert "30 active minutes" in move.note


def test_a_second_sweep_finds_nothing_more_to_do(desk):
    make_ticket(board=desk.triage, now=NOW)

    assert services.sweep(minutes(30)) == 1
    assert services.sweep(minutes(31)) == 0
    assert services.sweep(minutes(600)) == 0  # Support has no time criterion
    assert Move.objects.filter(criterion__trigger=Criterion.Trigger.TIME).count() == 1


def test_sweep_once_takes_one_batch(desk):
    for _ in range(3):
        make_ticket(board=desk.triage, now=NOW)

    assert services.sweep_once(minutes(30), batch_size=2) == 2
    assert services.sweep_once(minutes(30), batch_size=2) == 1
    assert services.sweep_once(minutes(30), batch_size=2) == 0


def test_raising_the_limit_moves_the_deadline_of_open_tickets(desk, tier1):
    running = make_ticket(board=desk.triage, now=NOW)
    paused = make_ticket(board=desk.triage, now=NOW)
    waiting = desk.triage.columns.get(name="Waiting on customer")
    services.move_ticket(paused, actor=tier1, expected_version=None, to_column=waiting, now=minutes(10))

    limit = desk.criteria["Tier 1 time limit"]
    limit.time_limit_minutes = 45
    limit.save()
    services.recompute_deadlines()

    running.refresh_from_db()
    paused.refresh_from_db()
    assert running.deadline_at == minutes(45)
    assert paused.deadline_at is None  # still waiting; its 10 minutes stay banked
    assert services.sweep(minutes(44)) == 0
    assert services.sweep(minutes(45)) == 1

    services.move_ticket(
        paused, actor=tier1, expected_version=None, to_column=desk.triage.entry_column(), now=minutes(60)
    )
    paused.refresh_from_db()
    assert paused.deadline_at == minutes(95)


def test_lowering_the_limit_counts_the_banked_time(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=None,
        to_column=desk.triage.columns.get(name="In progress"),
        now=minutes(8),
    )

    limit = desk.criteria["Tier 1 time limit"]
    limit.time_limit_minutes = 10
    limit.save()
    services.recompute_deadlines()

    ticket.refresh_from_db()
    assert ticket.deadline_at == minutes(10)


def test_deactivating_the_criterion_clears_the_deadlines(desk):
    tickets = [make_ticket(board=desk.triage, now=NOW) for _ in range(2)]

    limit = desk.criteria["Tier 1 time limit"]
    limit.active = False
    limit.save()
    services.recompute_deadlines()

    assert all(Ticket.objects.get(pk=t.pk).deadline_at is None for t in tickets)
    assert services.sweep(minutes(120)) == 0


def test_recompute_leaves_resolved_tickets_alone(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=desk.triage.columns.get(name="Resolved"), now=minutes(5)
    )

    services.recompute_deadlines()

    ticket.refresh_from_db()
    assert ticket.deadline_at is None


def test_the_sweep_rechecks_a_limit_raised_without_recompute(desk):
    """The stored deadline is a hint; the criterion as it is now decides."""
    ticket = make_ticket(board=desk.triage, now=NOW)
    limit = desk.criteria["Tier 1 time limit"]
    Criterion.objects.filter(pk=limit.pk).update(time_limit_minutes=60)

    assert services.sweep(minutes(30)) == 0
    ticket.refresh_from_db()
    assert ticket.board == desk.triage
    assert ticket.deadline_at == minutes(60)
    assert services.sweep(minutes(60)) == 1


def test_the_sweep_skips_a_criterion_switched_off_without_recompute(desk):
    ticket = make_ticket(board=desk.triage, now=NOW)
    Criterion.objects.filter(name="Tier 1 time limit").update(active=False)

    assert services.sweep(minutes(30)) == 0
    ticket.refresh_from_db()
    assert ticket.board == desk.triage
    assert ticket.deadline_at is None


def test_a_board_that_cannot_receive_tickets_does_not_stop_the_sweep(desk, caplog):
    nowhere = Board.objects.create(name="Nowhere", slug="nowhere")
    Criterion.objects.create(
        name="Tier 3 time limit",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.triage,
        from_tier=3,
        to_board=nowhere,
        time_limit_minutes=5,
    )
    services.recompute_deadlines()
    stuck = make_ticket(board=desk.triage, tier=3, now=NOW)
    fine = make_ticket(board=desk.triage, now=NOW + timedelta(seconds=1))

    assert services.sweep(minutes(31), batch_size=1) == 1

    stuck.refresh_from_db()
    fine.refresh_from_db()
    assert fine.board == desk.support
    assert stuck.board == desk.triage and stuck.deadline_at == minutes(5)  # still due, and said so
    assert "Nowhere board has no columns" in caplog.text


def test_a_sweep_batch_costs_the_same_statements_for_5_or_15_due_tickets(desk):
    """A batch is written set-based (one UPDATE, one INSERT, one bump); open tickets that are not due cost nothing."""

    def queries_to_sweep(due: int, not_due: int) -> int:
        Ticket.objects.all().delete()
        for _ in range(due):
            make_ticket(board=desk.triage, now=NOW)
        for _ in range(not_due):
            make_ticket(board=desk.triage, now=minutes(60))
        with CaptureQueriesContext(connection) as ctx:
            assert services.sweep_once(minutes(30)) == due
        return len(ctx.captured_queries)

    few, more, crowded = queries_to_sweep(5, 0), queries_to_sweep(15, 0), queries_to_sweep(5, 30)

    assert more == few
    assert crowded == few


@pytest.mark.parametrize("limit", [1, 30, 24 * 60])
def test_recompute_arithmetic_matches_the_python_clock(desk, tier1, limit):
    """recompute_deadlines and a move reach the same deadline: banked time counted, to the microsecond."""
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.move_ticket(
        ticket,
        actor=tier1,
        expected_version=None,
        to_column=desk.triage.columns.get(name="Waiting on customer"),
        now=minutes(7) + timedelta(seconds=13, microseconds=500),
    )
    services.move_ticket(
        ticket, actor=tier1, expected_version=None, to_column=desk.triage.entry_column(), now=minutes(20)
    )
    Criterion.objects.filter(name="Tier 1 time limit").update(time_limit_minutes=limit)

    services.recompute_deadlines()

    ticket.refresh_from_db()
    banked = timedelta(minutes=7, seconds=13, microseconds=500)
    assert ticket.deadline_at == minutes(20) + timedelta(minutes=limit) - banked


def test_an_edit_that_moves_no_deadline_writes_no_ticket(desk, tier1):
    for _ in range(3):
        make_ticket(board=desk.triage, now=NOW)
    limit = desk.criteria["Tier 1 time limit"]

    limit.description = "Reworded; the limit is the same."
    services.save_criterion(limit, actor=tier1, now=minutes(1), recompute=False)
    assert services.recompute_deadlines() == 0

    limit.time_limit_minutes = 40
    services.save_criterion(limit, actor=tier1, now=minutes(2), recompute=False)
    assert services.recompute_deadlines() == 3
    assert set(Ticket.objects.values_list("deadline_at", flat=True)) == {minutes(40)}
