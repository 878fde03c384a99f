"""A card turns to "warning" when its criterion says the bell warns, and by its own priority's limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from boards.models import Ticket
from routing import services
from tests.boards.html import find_all
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def limit(desk):
    return desk.criteria["Tier 1 time limit"]


def _countdown(client, ticket: Ticket) -> dict:
    """The countdown on the ticket's card, as the board draws it now."""
    body = client.get(ticket.board.get_absolute_url()).text
    deadline = ticket.deadline_at.isoformat()
    return next(s for s in find_all(body, "span", class_="countdown") if s.get("data-deadline") == deadline)


def test_the_card_warns_at_the_bells_moment_not_at_the_last_fifth(client, desk, tier1, limit):
    limit.warn_before_minutes = 10
    services.save_criterion(limit, actor=None)
    ticket = make_ticket(board=desk.triage, now=NOW)
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(minutes=21), tick=False):  # 9 minutes left of 30
        badge = _countdown(client, ticket)
    assert "warning" in badge["class"].split()
    assert badge["data-warn-from"] == (ticket.deadline_at - timedelta(minutes=10)).isoformat()


def test_with_no_warning_set_the_last_fifth_of_the_prioritys_own_limit_warns(client, desk, tier1, limit):
    limit.p1_limit_minutes = 10
    services.save_criterion(limit, actor=None)
    p1 = make_ticket(board=desk.triage, priority=Ticket.Priority.P1, now=NOW)
    p3 = make_ticket(board=desk.triage, priority=Ticket.Priority.P3, now=NOW)
    client.force_login(tier1)

    # Two minutes are the last fifth of a P1's 10; six minutes of a P3's 30.
    assert _countdown(client, p1)["data-warn-from"] == (p1.deadline_at - timedelta(minutes=2)).isoformat()
    assert _countdown(client, p3)["data-warn-from"] == (p3.deadline_at - timedelta(minutes=6)).isoformat()
    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):  # P1: 3 min left, P3: 23 min left
        assert "warning" not in _countdown(client, p1)["class"].split()
    with time_machine.travel(NOW + timedelta(minutes=8, seconds=30), tick=False):
        assert "warning" in _countdown(client, p1)["class"].split()
        assert "warning" not in _countdown(client, p3)["class"].split()
