"""Limits per priority: a P1 escalates after its own 10 minutes while a P3 keeps the general 30."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from boards.models import Ticket
from notifications import warnings
from routing import services
from routing.models import Criterion
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the test desk's boards keep wall time


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


@pytest.fixture
def tier1_limit(desk):
    limit = desk.criteria["Tier 1 time limit"]
    limit.p1_limit_minutes, limit.p2_limit_minutes = 10, 20
    limit.full_clean()
    limit.save()
    services.recompute_deadlines()
    return limit


def test_a_p1_escalates_after_10_minutes_while_a_p3_waits_for_30(desk, tier1_limit):
    p1 = make_ticket(board=desk.triage, priority=Ticket.Priority.P1, now=NOW)
    p3 = make_ticket(board=desk.triage, priority=Ticket.Priority.P3, now=NOW)
    assert p1.deadline_at == minutes(10)
    assert p3.deadline_at == minutes(30)

    assert services.sweep(minutes(10)) == 1
    p1.refresh_from_db()
    p3.refresh_from_db()
    assert p1.board == desk.support and p3.board == desk.triage
    assert p1.moves.last().note == "Time limit of 10 active minutes reached."
    assert services.sweep(minutes(29)) == 0
    assert services.sweep(minutes(30)) == 1


def test_a_limit_for_some_priorities_only_leaves_the_others_without_a_deadline(desk):
    noc = Criterion.objects.create(
        name="NOC urgent",
        direction="escalate",
        trigger="time",
        from_board=desk.noc,
        to_board=desk.support,
        p1_limit_minutes=10,
        p2_limit_minutes=20,
    )
    noc.full_clean()
    p1 = make_ticket(board=desk.noc, priority=Ticket.Priority.P1, now=NOW)
    p2 = make_ticket(board=desk.noc, priority=Ticket.Priority.P2, now=NOW)
    p4 = make_ticket(board=desk.noc, priority=Ticket.Priority.P4, now=NOW)
    assert (p1.deadline_at, p2.deadline_at, p4.deadline_at) == (minutes(10), minutes(20), None)
    assert noc.describe_limit() == "P1 10 min, P2 20 min only"


def test_recompute_sets_each_priority_its_own_limit(desk):
    tickets = {p: make_ticket(board=desk.triage, priority=p, now=NOW) for p in (1, 2, 3, 4)}
    limit = desk.criteria["Tier 1 time limit"]
    limit.p1_limit_minutes, limit.p2_limit_minutes, limit.p4_limit_minutes = 10, 20, 60
    limit.save()
    services.recompute_deadlines()
    for priority, expected in {1: 10, 2: 20, 3: 30, 4: 60}.items():
        tickets[priority].refresh_from_db()
        assert tickets[priority].deadline_at == minutes(expected), priority


def test_the_warning_at_80_percent_follows_the_priority_limit(desk, tier1_limit):
    tier1_limit.warn_at_percent = 80
    tier1_limit.save()
    p1 = make_ticket(board=desk.triage, priority=Ticket.Priority.P1, now=NOW)
    p3 = make_ticket(board=desk.triage, priority=Ticket.Priority.P3, now=NOW)
    assert tier1_limit.warning_lead_for(1) == timedelta(minutes=2)
    assert tier1_limit.warning_lead_for(3) == timedelta(minutes=6)

    assert set(warnings.due(minutes(7.9)).values_list("pk", flat=True)) == set()
    assert set(warnings.due(minutes(8)).values_list("pk", flat=True)) == {p1.pk}
    assert set(warnings.due(minutes(24)).values_list("pk", flat=True)) == {p3.pk}  # P1 is the sweep's by now


def test_a_priority_limit_must_outlast_the_warning_and_belongs_to_time_criteria(desk):
    limit = desk.criteria["Tier 1 time limit"]
    limit.warn_before_minutes, limit.p1_limit_minutes = 15, 10
    with pytest.raises(ValidationError, match="P1's limit must be longer"):
        limit.full_clean()
    manual = desk.criteria["Beyond this tier"]
    manual.p1_limit_minutes = 10
    with pytest.raises(ValidationError, match="Only a time criterion has limits per priority"):
        manual.full_clean()


def test_raising_a_tickets_priority_gives_it_the_p1_limit(desk, tier1_limit):
    ticket = make_ticket(board=desk.triage, priority=Ticket.Priority.P3, now=NOW)
    assert ticket.deadline_at == minutes(30)
    Ticket.objects.filter(pk=ticket.pk).update(priority=Ticket.Priority.P1)  # e.g. saved in admin
    services.refresh_deadline(ticket)
    ticket.refresh_from_db()
    assert ticket.deadline_at == minutes(10)
    assert services.sweep(minutes(10)) == 1
