"""Inactivity: no note, move or update for N working hours in a new or active column moves or notifies."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from boards.services import add_note
from calendars.seed import seed_calendars
from routing import services
from routing.models import Criterion, Direction, InactivityNotice
from tests.factories import make_ticket

LONDON = ZoneInfo("Europe/London")


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def untouched(desk):
    criterion = Criterion(
        name="Untouched for 3 working days",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.INACTIVITY,
        from_board=desk.support,
        idle_hours=30,
        notify_only=True,
    )
    criterion.full_clean()
    criterion.save()
    return criterion


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_a_support_ticket_untouched_for_3_working_days_notifies_once(
    desk, tier2, untouched, mailoutbox, django_capture_on_commit_callbacks
):
    seed_calendars({"support": desk.support})  # Mon–Fri 08:00–18:00, Europe/London
    with at(london(2026, 3, 2, 10, 0)):  # Monday
        ticket = make_ticket(board=desk.support, tier=2, assignee=tier2, now=timezone.now())
    with at(london(2026, 3, 4, 9, 0)):  # Wednesday: a note is activity
        add_note(ticket, author=tier2, body="Waiting for the vendor's reply.", now=timezone.now())

    # 30 working hours after Wednesday 09:00: Wed 9 h, Thu 10 h, Fri 10 h, Mon 1 h → Monday 09:00.
    assert services.sweep_inactive(london(2026, 3, 9, 8, 59)) == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_inactive(london(2026, 3, 9, 9, 0)) == (0, 1)
    assert [m.to for m in mailoutbox] == [[tier2.email]]
    assert "untouched" in mailoutbox[0].subject.lower()
    # Once per idle stretch, and a notice is not a move.
    assert services.sweep_inactive(london(2026, 3, 9, 12, 0)) == (0, 0)
    ticket.refresh_from_db()
    assert ticket.board == desk.support
    assert InactivityNotice.objects.filter(ticket=ticket, criterion=untouched).count() == 1


def test_an_inactivity_criterion_moves_a_forgotten_triage_ticket(desk, tier1):
    idle = Criterion(
        name="Forgotten on Triage",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.INACTIVITY,
        from_board=desk.triage,
        to_board=desk.support,
        to_tier=2,
        idle_hours=2,
    )
    idle.full_clean()
    idle.save()
    waiting = desk.triage.columns.get(name="Waiting on customer")
    with at(london(2026, 3, 2, 9, 0)):
        ticket = make_ticket(board=desk.triage, now=timezone.now())
        parked = make_ticket(board=desk.triage, now=timezone.now())
        services.move_ticket(parked, actor=tier1, expected_version=None, to_column=waiting, now=timezone.now())
    Criterion.objects.filter(name="Tier 1 time limit").update(active=False)
    services.recompute_deadlines()

    assert services.sweep_inactive(london(2026, 3, 2, 10, 59)) == (0, 0)
    assert services.sweep_inactive(london(2026, 3, 2, 11, 0)) == (1, 0)
    ticket.refresh_from_db()
    parked.refresh_from_db()
    assert ticket.board == desk.support  # moved, naming the criterion
    assert ticket.moves.last().criterion == idle
    assert parked.board == desk.triage  # a waiting column is not inactivity


def test_an_inactivity_criterion_needs_its_hours(desk):
    with pytest.raises(Exception, match="working hours"):
        Criterion(
            name="x", direction="escalate", trigger="inactivity", from_board=desk.support, notify_only=True
        ).full_clean()
