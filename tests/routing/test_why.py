"""Why did this move: each Move keeps the criterion as it was and what it saw; criteria keep their history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.urls import reverse

from boards.models import Skill, Ticket
from boards.services import update_ticket
from routing import services
from routing.models import CriterionChange
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def test_a_moves_why_survives_a_later_edit_of_its_criterion(desk, manager):
    limit = desk.criteria["Tier 1 time limit"]
    limit.time_limit_minutes = 25
    services.save_criterion(limit, actor=manager, now=NOW - timedelta(days=1))
    ticket = make_ticket(board=desk.triage, priority=Ticket.Priority.P2, now=NOW)

    assert services.sweep(minutes(25)) == 1
    move = ticket.moves.get(criterion=limit)
    before = move.why
    assert before == (
        "Tier 1 time limit (time, 25 min; last edited by Morgan Manager on 01 Mar 2026 09:00 UTC) "
        "saw 25 active minutes, P2"
    )

    # A week later the manager renames the rule and changes its limit.
    limit.name, limit.time_limit_minutes = "Front-line limit", 45
    change = services.save_criterion(limit, actor=manager, now=minutes(7 * 24 * 60))
    assert change.changes == {"name": ["Tier 1 time limit", "Front-line limit"], "time_limit_minutes": [25, 45]}

    move.refresh_from_db()
    assert move.why == before
    assert move.snapshot["criterion"]["limit_minutes"] == 25
    assert move.snapshot["saw"]["active_minutes"] == 25
    history = list(CriterionChange.objects.filter(criterion=limit).values_list("changes", flat=True))
    assert history[0] == {"time_limit_minutes": [30, 25]}
    assert len(history) == 2


def test_a_condition_move_says_which_skill_nobody_had(desk, tier1):
    firewall, _ = Skill.objects.get_or_create(name="Firewall")
    ticket = make_ticket(board=desk.triage, now=NOW)
    update_ticket(ticket, actor=tier1, expected_version=None, required_skills=[firewall], now=minutes(3))

    move = ticket.moves.exclude(criterion=None).get()
    assert move.snapshot["saw"]["missing_skills"] == ["Firewall"]
    assert move.why.endswith("saw 3 active minutes, P3, nobody on the board has Firewall")


def test_saving_an_unchanged_criterion_records_nothing_and_a_new_one_is_recorded(desk, manager):
    limit = desk.criteria["Tier 1 time limit"]
    assert services.save_criterion(limit, actor=manager) is None
    assert not CriterionChange.objects.exists()


def test_save_criterion_recomputes_deadlines_as_admin_does(desk, manager):
    ticket = make_ticket(board=desk.triage, now=NOW)
    limit = desk.criteria["Tier 1 time limit"]
    limit.time_limit_minutes = 50
    services.save_criterion(limit, actor=manager)
    ticket.refresh_from_db()
    assert ticket.deadline_at == minutes(50)


def test_the_drawer_timeline_says_why(client, desk, tier1, manager):
    limit = desk.criteria["Tier 1 time limit"]
    ticket = make_ticket(board=desk.triage, now=NOW)
    services.sweep(minutes(30))
    client.force_login(manager)
    body = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert "Why: Tier 1 time limit (time, 30 min) saw 30 active minutes, P3" in body
    assert limit.name in body
