"""Condition criteria fire on the write that makes them true, under that person's name."""

from datetime import UTC, datetime

from boards.models import Skill
from routing import services
from routing.models import Direction, Move
from tests.factories import make_ticket, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_needs_onsite_moves_a_triage_ticket_to_support(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    ticket.needs_onsite = True
    ticket.save(update_fields=["needs_onsite"])
    move = services.facts_changed(ticket, actor=tier1, now=NOW)

    assert (ticket.board, ticket.tier) == (desk.support, 2)  # the caller's copy is refreshed
    assert (move.actor, move.criterion.name, move.direction) == (tier1, "Needs onsite visit", Direction.ESCALATE)
    assert Move.objects.filter(ticket=ticket, criterion__isnull=False).count() == 1


def test_a_skill_nobody_on_triage_has_moves_the_ticket_to_support(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)

    ticket.required_skills.add(Skill.objects.get(name="Firewall"))
    move = services.facts_changed(ticket, actor=tier1, now=NOW)

    assert ticket.board == desk.support
    assert (move.actor, move.criterion.name) == (tier1, "Needs a specialized skill or tool")


def test_a_skill_someone_on_triage_has_keeps_the_ticket_there(desk, tier1):
    printers = Skill.objects.get(name="Printers")
    make_user("pria", boards=[desk.triage], skills=[printers])
    ticket = make_ticket(board=desk.triage, now=NOW)

    ticket.required_skills.add(printers)

    assert services.facts_changed(ticket, actor=tier1, now=NOW) is None
    ticket.refresh_from_db()
    assert ticket.board == desk.triage


def test_a_skill_only_a_departed_technician_had_does_not_count(desk, tier1):
    firewall = Skill.objects.get(name="Firewall")
    make_user("gone", boards=[desk.triage], skills=[firewall], is_active=False)
    ticket = make_ticket(board=desk.triage, now=NOW)

    ticket.required_skills.add(firewall)
    move = services.facts_changed(ticket, actor=tier1, now=NOW)

    assert move is not None and move.criterion.name == "Needs a specialized skill or tool"
    assert ticket.board == desk.support


def test_a_ticket_that_needs_onsite_from_the_start_opens_on_support(desk, tier1):
    ticket = make_ticket(board=desk.triage, needs_onsite=True, actor=tier1, now=NOW)

    assert (ticket.board, ticket.tier) == (desk.support, 2)
    assert [m.note or m.criterion.name for m in ticket.moves.all()] == ["Opened", "Needs onsite visit"]


def test_saving_the_facts_twice_moves_once(desk, tier1):
    ticket = make_ticket(board=desk.triage, now=NOW)
    stale = type(ticket).objects.get(pk=ticket.pk)
    ticket.needs_onsite = True
    ticket.save(update_fields=["needs_onsite"])

    services.facts_changed(ticket, actor=tier1, now=NOW)
    # A second save from a copy taken before the move: the ticket is on
    # Support now, where "Needs onsite visit" (from Triage) does not apply.
    assert services.facts_changed(stale, actor=tier1, now=NOW) is None

    assert Move.objects.filter(ticket=ticket, criterion__isnull=False).count() == 1
