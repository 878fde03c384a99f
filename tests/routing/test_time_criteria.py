"""The seed's time rule: a tier 1 Triage ticket escalates after 30 active minutes."""

from datetime import UTC, datetime, timedelta

import time_machine

from boards.models import Ticket
from routing import services
from routing.models import Move

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_tier1_ticket_escalates_after_30_active_minutes(desk):
    with time_machine.travel(NOW, tick=False):
        ticket = __import__("tests.factories").factories.make_ticket(board=desk.triage)
    assert ticket.deadline_at == NOW + timedelta(minutes=30)

    assert services.sweep(NOW + timedelta(minutes=29)) == 0
    ticket.refresh_from_db()
    assert ticket.board == desk.triage

    assert services.sweep(NOW + timedelta(minutes=30)) == 1
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.board, ticket.tier) == (desk.support, 2)
    move = Move.objects.filter(ticket=ticket).latest("pk")
    assert move.actor is None and move.criterion.name == "Tier 1 time limit"
