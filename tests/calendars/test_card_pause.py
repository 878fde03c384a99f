"""The card on a board with working hours: outside them it says paused and when the clock resumes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_ticket

LONDON = ZoneInfo("Europe/London")


def test_a_card_outside_working_hours_says_paused_and_when_it_resumes(client, desk, tier1, make_calendar):
    make_calendar()  # Triage: Mon–Fri 08:00–18:00
    with time_machine.travel(datetime(2026, 3, 6, 17, 50, tzinfo=LONDON), tick=False):  # Friday
        ticket = make_ticket(board=desk.triage, now=timezone.now())
    client.force_login(tier1)

    with time_machine.travel(datetime(2026, 3, 7, 11, 0, tzinfo=LONDON), tick=False):  # Saturday
        body = client.get(reverse("board", args=["triage"])).content.decode()
    assert "paused · outside hours, resumes Mon 08:00" in body

    with time_machine.travel(datetime(2026, 3, 9, 8, 5, tzinfo=LONDON), tick=False):  # Monday, working
        body = client.get(reverse("board", args=["triage"])).content.decode()
    assert "paused · outside hours" not in body
    assert f'data-deadline="{ticket.deadline_at.isoformat()}"' in body
