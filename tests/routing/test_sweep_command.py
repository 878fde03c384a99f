"""`manage.py sweep`: the scheduler's sweep for cron-only sites, and a look at what is due."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import time_machine
from django.core.management import call_command

from boards.models import Ticket
from routing.models import Move
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sweep(*args: str) -> str:
    out = StringIO()
    call_command("sweep", *args, stdout=out)
    return out.getvalue()


def test_dry_run_lists_due_tickets_and_moves_nothing(desk):
    due = make_ticket(board=desk.triage, now=NOW)
    later = make_ticket(board=desk.triage, now=NOW + timedelta(minutes=10))

    with time_machine.travel(NOW + timedelta(minutes=35), tick=False):
        output = sweep("--dry-run")

    assert f"#{due.pk} Triage tier 1: Tier 1 time limit fired at 2026-03-02 09:30" in output
    assert f"#{later.pk} " not in output
    assert "1 ticket(s) due; nothing moved (dry run)." in output
    assert set(Ticket.objects.values_list("board__slug", flat=True)) == {"triage"}
    assert not Move.objects.filter(criterion__isnull=False).exists()


def test_sweep_moves_the_due_tickets(desk):
    due = make_ticket(board=desk.triage, now=NOW)
    later = make_ticket(board=desk.triage, now=NOW + timedelta(minutes=10))

    with time_machine.travel(NOW + timedelta(minutes=35), tick=False):
        output = sweep()

    assert output.strip() == "1 ticket(s) moved."
    assert Ticket.objects.get(pk=due.pk).board == desk.support
    assert Ticket.objects.get(pk=later.pk).board == desk.triage
    move = Move.objects.get(ticket=due, criterion__isnull=False)
    assert (move.actor, move.criterion.name) == (None, "Tier 1 time limit")


def test_sweep_with_nothing_due_says_so(desk):
    make_ticket(board=desk.triage, now=NOW)

    with time_machine.travel(NOW + timedelta(minutes=29), tick=False):
        assert sweep().strip() == "0 ticket(s) moved."
        assert "0 ticket(s) due" in sweep("--dry-run")
