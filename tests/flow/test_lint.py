"""The lint: each rule trips on a small hand-made map and stays quiet on a sound one.

The base cast is a sound two-board map: Front (tier 1) escalates by hand to
Back (tier 2) and Back de-escalates by hand to Front. Each test changes one
thing and looks at the findings of one rule.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Board, Column, Skill, Technician
from boards.seed import seed_structure
from flow.lint import PROBLEM, WARNING, check_map
from routing.models import Criterion, Direction
from tests.factories import make_ticket, make_user

ESC, DOWN, XFER = Direction.ESCALATE, Direction.DE_ESCALATE, Direction.TRANSFER
TIME, MANUAL, CONDITION = Criterion.Trigger.TIME, Criterion.Trigger.MANUAL, Criterion.Trigger.CONDITION
ONSITE, MISSING_SKILL = Criterion.Condition.NEEDS_ONSITE, Criterion.Condition.MISSING_SKILL
C = Column.Category


def _board(name: str, columns=((("New", C.NEW), ("Doing", C.ACTIVE), ("Done", C.DONE)))) -> Board:
    board = Board.objects.create(name=name, slug=name.lower(), position=Board.objects.count())
    for position, (column, category) in enumerate(columns):
        Column.objects.create(board=board, name=column, category=category, position=position)
    return board


def _criterion(name, direction, trigger, from_board, to_board, **fields) -> Criterion:
    if trigger == TIME:
        fields.setdefault("time_limit_minutes", 30)
    if trigger == CONDITION:
        fields.setdefault("condition", ONSITE)
    return Criterion.objects.create(
        name=name,
        direction=direction,
        trigger=trigger,
        from_board=from_board,
        to_board=to_board,
        position=Criterion.objects.count(),
        **fields,
    )


def _found(rule: str) -> list:
    return [f for f in check_map() if f.rule == rule]


def _one(rule: str):
    found = _found(rule)
    assert len(found) == 1, [f.title for f in check_map()]
    return found[0]


@pytest.fixture
def two(db):
    front, back = _board("Front"), _board("Back")
    up = _criterion("Beyond the front line", ESC, MANUAL, front, back, to_tier=2)
    down = _criterion("User error", DOWN, MANUAL, back, front, to_tier=1)
    make_user("fay", tier=1, boards=[front])
    make_user("bo", tier=2, boards=[back])
    return SimpleNamespace(front=front, back=back, up=up, down=down)


def test_a_sound_map_has_no_findings(two):
    assert check_map() == []


# --- Dead ends and boards nothing reaches --------------------------------------------


def test_a_board_criteria_lead_to_but_nothing_leaves_is_a_dead_end(two):
    deep = _board("Deep")
    make_user("dee", tier=2, boards=[deep])
    handover = _criterion("Hand to Deep", XFER, MANUAL, two.back, deep)

    finding = _one("dead-end")
    assert finding.severity == PROBLEM
    assert finding.title == "Deep is a dead end"
    assert "“Hand to Deep”" in finding.explanation
    assert finding.fix_url == (reverse("admin:routing_criterion_add") + f"?from_board={deep.pk}&direction=de-escalate")
    assert f"criterion:{handover.pk}" in finding.about


def test_a_way_out_of_the_board_clears_the_dead_end(two):
    deep = _board("Deep")
    make_user("dee", tier=2, boards=[deep])
    _criterion("Hand to Deep", XFER, MANUAL, two.back, deep)
    _criterion("Back to the front", XFER, MANUAL, deep, two.front)
    assert _found("dead-end") == []


def test_a_criterion_from_any_board_is_a_way_out_of_every_other_board(two):
    deep = _board("Deep")
    make_user("dee", tier=2, boards=[deep])
    _criterion("Hand to Deep", XFER, MANUAL, two.back, deep)
    _criterion("Send to the front", XFER, MANUAL, None, two.front)
    assert _found("dead-end") == []


def test_a_board_tickets_are_opened_on_but_cannot_leave_is_a_warning(two):
    projects = _board("Projects")
    make_user("pat", tier=1, boards=[projects])
    make_ticket(board=projects)

    finding = _one("dead-end")
    assert (finding.severity, finding.title) == (WARNING, "Tickets opened on Projects can never leave it")
    assert _found("unreached") == []


def test_a_board_with_no_criteria_in_and_no_tickets_is_unreached(two):
    lonely = _board("Lonely")
    make_user("lee", tier=1, boards=[lonely])

    finding = _one("unreached")
    assert (finding.severity, finding.title) == (WARNING, "Nothing reaches Lonely")
    assert "front door" in finding.explanation
    assert finding.fix_url == reverse("admin:routing_criterion_add") + f"?to_board={lonely.pk}"
    assert _found("dead-end") == []  # nothing arrives there to be trapped


def test_a_board_tickets_are_opened_on_is_a_front_door_not_unreached(two):
    lonely = _board("Lonely")
    make_user("lee", tier=1, boards=[lonely])
    make_ticket(board=lonely)
    assert _found("unreached") == []


def test_a_board_a_criterion_leads_to_is_reached(two):
    lonely = _board("Lonely")
    make_user("lee", tier=1, boards=[lonely])
    _criterion("Over to Lonely", XFER, MANUAL, two.front, lonely)
    _criterion("Back from Lonely", XFER, MANUAL, lonely, two.front)
    assert _found("unreached") == []


# --- Escalations with no way back ----------------------------------------------------------


def test_an_escalation_with_no_way_back_down_is_a_problem(two):
    # Back still hands tickets on, to Side, but nothing brings them down to Front.
    two.down.delete()
    side = _board("Side")
    make_user("si", tier=2, boards=[side])
    _criterion("Aside", XFER, MANUAL, two.back, side)
    _criterion("Side back", XFER, MANUAL, side, two.back)

    finding = _one("no-way-back")
    assert (finding.severity, finding.title) == (PROBLEM, "No way back from Back to Front")
    assert "“Beyond the front line”" in finding.explanation
    assert "part everyone forgets" in finding.explanation
    assert finding.fix_url == (
        reverse("admin:routing_criterion_add")
        + f"?direction=de-escalate&from_board={two.back.pk}&to_board={two.front.pk}"
    )
    assert finding.about >= {f"criterion:{two.up.pk}", f"board:{two.back.pk}", f"board:{two.front.pk}"}


def test_with_nothing_leaving_the_board_at_all_the_dead_end_says_it_once(two):
    two.down.active = False
    two.down.save()
    assert _found("no-way-back") == []
    assert _one("dead-end").title == "Back is a dead end"


def test_a_way_back_in_two_steps_counts(two):
    two.down.delete()
    mid = _board("Mid")
    make_user("mo", tier=1, boards=[mid])
    _criterion("Monitoring follow-up", DOWN, MANUAL, two.back, mid)
    _criterion("User-facing follow-up", XFER, MANUAL, mid, two.front)
    assert _found("no-way-back") == []


def test_a_way_back_to_a_board_below_the_origin_counts(two):
    # Desk escalates to Front, Front to Back; coming down from Back to Desk is below Front.
    two.down.delete()
    desk = _board("Desk")
    make_user("di", tier=1, boards=[desk])
    _criterion("Up to Front", ESC, MANUAL, desk, two.front)
    _criterion("Down to Desk", DOWN, MANUAL, two.back, desk)
    _criterion("Front to Desk", DOWN, MANUAL, two.front, desk)
    assert _found("no-way-back") == []


def test_a_way_back_to_an_unrelated_board_does_not_count(two):
    # Side escalates into Back, so Side is below Back, not below Front.
    two.down.delete()
    side = _board("Side")
    make_user("si", tier=2, boards=[side])
    _criterion("Aside", DOWN, MANUAL, two.back, side)
    _criterion("Side up", ESC, MANUAL, side, two.back)
    assert [f.title for f in _found("no-way-back")] == ["No way back from Back to Front"]


def test_a_tier_escalation_needs_a_de_escalation_at_the_higher_tier(two):
    two.down.from_tier = 2  # only tier 2 tickets come back down
    two.down.save()
    make_user("sen", tier=3, boards=[two.back])
    _criterion("Senior engineer", ESC, MANUAL, two.back, None, from_tier=2, to_tier=3)

    finding = _one("no-way-back")
    assert (finding.severity, finding.title) == (WARNING, "Nothing brings tier 3 tickets on Back back down")

    two.down.from_tier = None
    two.down.save()
    assert _found("no-way-back") == []


# --- Bounces --------------------------------------------------------------------------------


def test_two_time_criteria_in_opposite_directions_bounce(two):
    there = _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    back = _criterion("Back limit", DOWN, TIME, two.back, two.front, to_tier=1, time_limit_minutes=60)

    finding = _one("bounce")
    assert finding.severity == PROBLEM
    assert finding.title == "“Front limit” and “Back limit” can bounce tickets between Front and Back"
    assert "without anyone deciding" in finding.explanation
    assert finding.about >= {f"criterion:{there.pk}", f"criterion:{back.pk}"}


def test_two_conditions_on_the_same_fact_in_opposite_directions_bounce(two):
    _criterion("Onsite, go back", ESC, CONDITION, two.front, two.back, to_tier=2)
    _criterion("Onsite, go front", DOWN, CONDITION, two.back, two.front, to_tier=1)
    finding = _one("bounce")
    assert finding.severity == PROBLEM
    assert "same fact" in finding.explanation


def test_a_condition_one_way_and_a_time_limit_back_is_a_warning(two):
    _criterion("Onsite", ESC, CONDITION, two.front, two.back, to_tier=2)
    _criterion("Back limit", DOWN, TIME, two.back, two.front, to_tier=1, time_limit_minutes=60)
    assert _one("bounce").severity == WARNING


def test_two_conditions_on_different_facts_are_a_warning(two):
    _criterion("Onsite", ESC, CONDITION, two.front, two.back, to_tier=2)
    _criterion("No skill here", DOWN, CONDITION, two.back, two.front, to_tier=1, condition=MISSING_SKILL)
    assert _one("bounce").severity == WARNING


def test_a_person_in_between_is_no_bounce(two):
    # An automatic escalation, and the way back is the manual "User error".
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2)
    _criterion("Onsite", ESC, CONDITION, two.front, two.back, to_tier=2)
    assert _found("bounce") == []


def test_opposite_time_criteria_that_never_meet_do_not_bounce(two):
    # The way back applies only to tier 3, and the escalation lands at tier 2.
    make_user("sen", tier=3, boards=[two.back])
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2)
    _criterion("Tier 3 limit", DOWN, TIME, two.back, two.front, from_tier=3, to_tier=1)
    assert _found("bounce") == []


def test_time_criteria_bouncing_between_tiers_on_one_board(two):
    make_user("sen", tier=3, boards=[two.back])
    _criterion("Up a tier", ESC, TIME, two.back, None, from_tier=2, to_tier=3)
    _criterion("Down a tier", DOWN, TIME, two.back, None, from_tier=3, to_tier=2)
    assert _one("bounce").title == "“Up a tier” and “Down a tier” can bounce tickets between tiers on Back"


# --- Time limits that never fire ------------------------------------------------------------


def test_a_longer_time_limit_on_the_same_board_and_tier_never_fires(two):
    _criterion("Quick", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    slow = _criterion("Slow", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=45)

    finding = _one("shadowed")
    assert (finding.severity, finding.title) == (WARNING, "“Slow” can never fire")
    assert "“Quick” (30 min) fires first" in finding.explanation
    assert finding.fix_url == reverse("admin:routing_criterion_change", args=[slow.pk])


def test_an_any_board_criterion_is_shadowed_only_if_shadowed_everywhere(two):
    # "Slow" applies on any board; on Back nothing shorter applies, so it fires there.
    _criterion("Quick", ESC, TIME, two.front, two.back, from_tier=1, to_tier=2, time_limit_minutes=30)
    _criterion("Slow", ESC, TIME, None, two.back, from_tier=1, to_tier=2, time_limit_minutes=45)
    assert _found("shadowed") == []


def test_an_any_tier_criterion_fires_at_the_tiers_the_shorter_one_leaves(two):
    _criterion("Quick", ESC, TIME, two.front, two.back, from_tier=1, to_tier=2, time_limit_minutes=30)
    _criterion("Slow", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=45)  # any tier
    assert _found("shadowed") == []


def test_a_shorter_any_board_criterion_shadows_one_board_criteria(two):
    _criterion("Everywhere", ESC, TIME, None, two.back, to_tier=2, time_limit_minutes=20)
    _criterion("Front only", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    assert _one("shadowed").title == "“Front only” can never fire"


def test_on_a_tie_the_criterion_listed_second_never_fires(two):
    _criterion("First", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    _criterion("Second", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    finding = _one("shadowed")
    assert finding.title == "“Second” can never fire"
    assert "on a tie, the one listed first" in finding.explanation


# --- Time limits per priority (Criterion.limit_for): compared priority by priority -----------------


def test_a_p1_limit_of_10_shadows_another_criterions_p1_limit_of_30(two):
    _criterion("P1 fast lane", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=None, p1_limit_minutes=10)
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=60, p1_limit_minutes=30)

    finding = _one("shadowed")

    # "Front limit" still fires for P2–P4 at 60; only its own P1 limit is dead.
    assert (finding.severity, finding.title) == (WARNING, "“Front limit”'s P1 limit can never fire")
    assert "For P1 tickets" in finding.explanation
    assert "“P1 fast lane” (10 min) fires before its own P1 limit of 30 min" in finding.explanation


def test_a_general_limit_beaten_for_one_priority_only_is_a_fast_lane_not_a_finding(two):
    _criterion("P1 fast lane", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=None, p1_limit_minutes=10)
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)

    assert _found("shadowed") == []


def test_a_priority_only_criterion_beaten_for_its_priorities_can_never_fire(two):
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30, p1_limit_minutes=5)
    _criterion(
        "Slow lane",
        ESC,
        TIME,
        two.front,
        two.back,
        to_tier=2,
        time_limit_minutes=None,
        p1_limit_minutes=10,
        p2_limit_minutes=40,
    )

    finding = _one("shadowed")

    assert finding.title == "“Slow lane” can never fire"
    assert finding.explanation.startswith("Wherever “Slow lane” (P1 10 min, P2 40 min only) applies (Front · tier 1")
    assert (
        "another limit fires first for every priority it has a limit for: for P1, “Front limit” (5 min) fires "
        "before its 10 min; for P2, “Front limit” (30 min) fires before its 40 min."
    ) in finding.explanation


def test_shadowed_everywhere_names_each_priority_when_the_stories_differ(two):
    _criterion("Quick", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=20, p1_limit_minutes=5)
    _criterion("Slow", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=45, p1_limit_minutes=10)

    finding = _one("shadowed")

    assert finding.title == "“Slow” can never fire"
    assert "for P1, “Quick” (5 min) fires before its 10 min" in finding.explanation
    assert "for P2, P3 and P4, “Quick” (20 min) fires before its 45 min" in finding.explanation


def test_a_p1_limit_shorter_than_the_others_general_one_keeps_a_criterion_alive(two):
    _criterion("Quick", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=20)
    _criterion("Slow", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=45, p1_limit_minutes=10)

    # Slow fires for P1 tickets (10 < 20); its general 45 never does, but that is no limit of a priority's own.
    assert _found("shadowed") == []


def test_time_limits_for_the_same_priority_bounce_and_the_finding_names_it(two):
    _criterion("P1 up", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=None, p1_limit_minutes=10)
    _criterion("P1 down", DOWN, TIME, two.back, two.front, to_tier=1, time_limit_minutes=None, p1_limit_minutes=30)

    finding = _one("bounce")

    assert finding.severity == PROBLEM
    assert finding.title == "“P1 up” and “P1 down” can bounce P1 tickets between Front and Back"
    assert finding.explanation.startswith(
        "For P1 tickets: after 10 active minutes “P1 up” moves a ticket on, and after 30 active minutes there "
        "“P1 down” sends it straight back"
    )


def test_time_limits_for_different_priorities_never_meet(two):
    # A P1 goes up after 10 minutes; only a P3 would come back down: no ticket does both.
    _criterion("P1 up", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=None, p1_limit_minutes=10)
    _criterion("P3 down", DOWN, TIME, two.back, two.front, to_tier=1, time_limit_minutes=None, p3_limit_minutes=30)

    assert _found("bounce") == []


def test_a_bounce_for_every_priority_lists_the_limits_that_differ(two):
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30, p1_limit_minutes=10)
    _criterion("Back limit", DOWN, TIME, two.back, two.front, to_tier=1, time_limit_minutes=60)

    finding = _one("bounce")

    assert finding.title == "“Front limit” and “Back limit” can bounce tickets between Front and Back"
    assert "After 10 (P1) or 30 (P2, P3 and P4) active minutes “Front limit” moves a ticket on" in finding.explanation
    assert "after 60 active minutes there “Back limit”" in finding.explanation


def test_a_criterion_that_never_moves_anything(two):
    _criterion("Tier 2 to tier 2", ESC, MANUAL, None, None, from_tier=2, to_tier=2)
    assert _one("no-effect").title == "“Tier 2 to tier 2” never moves a ticket"
    Criterion.objects.filter(name="Tier 2 to tier 2").update(to_tier=3)
    make_user("sen", tier=3, boards=[two.front, two.back])
    assert _found("no-effect") == []


# --- Columns to receive tickets ------------------------------------------------------------


def test_a_target_board_with_no_columns_is_a_problem(two):
    empty = _board("Empty", columns=())
    make_user("em", tier=1, boards=[empty])
    _criterion("To Empty", XFER, MANUAL, two.front, empty)
    _criterion("From Empty", XFER, MANUAL, empty, two.front)

    finding = _one("no-column")
    assert (finding.severity, finding.title) == (PROBLEM, "Empty has no column to receive tickets")
    assert "“To Empty” sends tickets to Empty" in finding.explanation
    assert finding.fix_url == reverse("admin:boards_board_change", args=[empty.pk])


def test_a_board_with_no_columns_that_nothing_targets_is_a_warning(two):
    empty = _board("Empty", columns=())
    make_user("em", tier=1, boards=[empty])
    assert _one("no-column").severity == WARNING


def test_a_board_whose_first_column_is_done_closes_arriving_tickets(two):
    Column.objects.filter(board=two.back).exclude(category=C.DONE).delete()
    finding = _one("no-column")
    assert (finding.severity, finding.title) == (WARNING, "“Beyond the front line” closes tickets as it moves them")


def test_arriving_tickets_land_in_the_first_new_column_even_behind_others(two):
    Column.objects.filter(board=two.back, category=C.NEW).update(position=9)
    assert _found("no-column") == []


# --- Who works where ----------------------------------------------------------------------------


def test_a_board_no_active_technician_works_is_a_problem(two):
    Technician.objects.filter(boards=two.back).update(tier=2)
    two_back_user = Technician.objects.get(boards=two.back).user
    two_back_user.is_active = False
    two_back_user.save()

    finding = _one("unstaffed")
    assert (finding.severity, finding.title) == (PROBLEM, "Nobody works Back")
    assert finding.fix_url == reverse("admin:boards_technician_changelist")


def test_a_tier_a_criterion_sends_to_needs_a_technician_of_that_tier_or_above(two):
    Criterion.objects.filter(pk=two.up.pk).update(to_tier=3)
    finding = _one("unstaffed")
    assert (finding.severity, finding.title) == (PROBLEM, "Nobody works tier 3 on Back")
    assert "most senior active technician there is tier 2" in finding.explanation

    make_user("sen", tier=3, boards=[two.front])  # tier 3, but not on Back
    assert _one("unstaffed").title == "Nobody works tier 3 on Back"

    make_user("rex", tier=4, boards=[two.back])  # a tier 4 technician works tier 3 too
    assert _found("unstaffed") == []


def test_a_board_move_that_keeps_the_tier_is_checked_at_the_tiers_worked_there(two):
    # Tier 1 tickets from Front keep tier 1 on Back, which a tier 2 technician works.
    _criterion("Sideways", XFER, MANUAL, two.front, two.back)
    assert _found("unstaffed") == []


def test_a_skill_nobody_has_is_a_warning_until_an_open_ticket_needs_it(two):
    firewall = Skill.objects.create(name="Firewall")
    finding = _one("missing-skill")
    assert (finding.severity, finding.title) == (WARNING, "Nobody has the skill “Firewall”")

    resolved = make_ticket(board=two.front, column="Done")
    resolved.required_skills.add(firewall)
    assert _one("missing-skill").severity == WARNING

    ticket = make_ticket(board=two.front)
    ticket.required_skills.add(firewall)
    finding = _one("missing-skill")
    assert finding.severity == PROBLEM
    assert finding.explanation.startswith("1 open ticket requires “Firewall”")


def test_skills_nobody_needs_yet_are_one_warning_not_a_wall(two):
    for name in ("Firewall", "Backup", "Printers"):
        Skill.objects.create(name=name)
    finding = _one("missing-skill")
    assert (finding.severity, finding.title) == (WARNING, "Nobody has 3 skills")
    assert "“Backup”, “Firewall”, “Printers”" in finding.explanation


def test_a_skill_only_an_inactive_technician_has_is_missing(two):
    firewall = Skill.objects.create(name="Firewall")
    make_user("gone", tier=2, boards=[two.back], skills=[firewall], is_active=False)
    assert _one("missing-skill").title == "Nobody has the skill “Firewall”"
    make_user("here", tier=2, boards=[two.back], skills=[firewall])
    assert _found("missing-skill") == []


# --- The whole list ---------------------------------------------------------------------------


def test_problems_come_first(two):
    Skill.objects.create(name="Firewall")  # a warning
    two.down.delete()  # a problem
    severities = [f.severity for f in check_map()]
    assert severities == sorted(severities, key=[PROBLEM, WARNING].index)
    assert severities[0] == PROBLEM and WARNING in severities


def _grow(n: int, boards: list[Board]) -> None:
    for i in range(n):
        a, b = boards[i % len(boards)], boards[(i + 1) % len(boards)]
        _criterion(f"Extra {Criterion.objects.count()}", XFER, MANUAL, a, b, from_tier=1 + i % 3)
        _criterion(f"Extra {Criterion.objects.count()}", ESC, TIME, a, b, time_limit_minutes=10 + i)


def test_the_query_count_does_not_grow_with_boards_criteria_or_people(two):
    Skill.objects.create(name="Firewall")
    with CaptureQueriesContext(connection) as small:
        check_map()
    boards = [two.front, two.back, *(_board(f"More {i}") for i in range(6))]
    for i, board in enumerate(boards):
        make_user(f"tech{i}", tier=1 + i % 3, boards=[board])
    _grow(15, boards)
    ticket = make_ticket(board=two.front)
    ticket.required_skills.add(Skill.objects.create(name="Backup"))
    with CaptureQueriesContext(connection) as large:
        findings = check_map()
    assert findings  # the large map has things to say
    assert len(large) == len(small) <= 7


def test_the_demo_desk_passes_the_lint(db):
    """The seed's boards and criteria, worked by the demo's people (boards/demo.py PEOPLE)."""
    from boards.demo import PEOPLE

    boards, _ = seed_structure()
    skills = {s.name: s for s in Skill.objects.all()}
    for person in PEOPLE:
        if person.tier is None:
            make_user(person.username, manager=True)
        else:
            make_user(
                person.username,
                tier=person.tier,
                boards=[boards[slug] for slug in person.boards],
                skills=[skills[name] for name in person.skills],
            )
    assert [(f.severity, f.title) for f in check_map()] == []


def test_the_loaded_demo_desk_passes_the_lint(db):
    """``load_demo`` itself: its people, and tickets opened on every board.

    Without the long back-dated history when the loader offers that (it adds
    minutes and changes nothing the lint reads but which boards have had tickets).
    """
    from boards.demo import load_demo

    short = {"history_days": 0} if "history_days" in inspect.signature(load_demo).parameters else {}
    load_demo(**short)
    assert [(f.severity, f.title) for f in check_map()] == []


def test_the_seed_without_people_says_nobody_works_the_boards(desk):
    titles = {f.title for f in check_map() if f.rule == "unstaffed"}
    assert titles == {"Nobody works NOC", "Nobody works Triage", "Nobody works Support"}
    assert {f.rule for f in check_map()} == {"unstaffed", "missing-skill"}


# --- The list beside the map (templates/flow/_lint.html) ----------------------------------------------


def _render_lint(user) -> str:
    request = RequestFactory().get(reverse("flow:page"))
    request.user = user
    return render_to_string("flow/_lint.html", {"findings": check_map()}, request=request)


def test_the_list_shows_findings_with_fix_links_for_managers(two):
    two.down.delete()  # Back becomes a dead end, and nothing reaches Front any more
    Skill.objects.create(name="Firewall")
    html = _render_lint(make_user("morgan", manager=True))
    assert '1 problem</span> · <span class="lint-count lint-count-warning">2 warnings' in html
    assert '<li class="finding finding-problem" data-rule="dead-end">' in html
    assert "<strong>Back is a dead end</strong>" in html
    assert f'href="{reverse("admin:routing_criterion_add")}?from_board={two.back.pk}&amp;direction=de-escalate"' in html


def test_technicians_see_findings_without_admin_links(two):
    two.down.delete()
    html = _render_lint(Technician.objects.get(boards=two.front).user)
    assert "Back is a dead end" in html
    assert "/admin/" not in html


def test_the_list_says_when_the_map_is_sound(two):
    assert "No problems found" in _render_lint(make_user("morgan", manager=True))


# --- Admin shows the same checks when something is saved -----------------------------------------


@pytest.fixture
def manager_client(client, two):
    client.force_login(make_user("morgan", manager=True))
    return client


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _criterion_form(**fields) -> dict:
    base = {
        "name": "New criterion",
        "description": "",
        "direction": ESC,
        "trigger": MANUAL,
        "from_board": "",
        "from_tier": "",
        "to_board": "",
        "to_tier": "",
        "to_column": "",
        "time_limit_minutes": "",
        "condition": "",
        "active": "on",
        "position": 0,
    }
    return {**base, **fields}


def test_saving_a_criterion_shows_its_findings_first_then_a_count(manager_client, two):
    Skill.objects.create(name="Firewall")  # a finding about something else
    _criterion("Front limit", ESC, TIME, two.front, two.back, to_tier=2, time_limit_minutes=30)
    response = manager_client.post(
        reverse("admin:routing_criterion_add"),
        _criterion_form(
            name="Back limit",
            direction=DOWN,
            trigger=TIME,
            time_limit_minutes=60,
            from_board=two.back.pk,
            to_board=two.front.pk,
            to_tier=1,
        ),
    )
    assert response.status_code == 302
    found = _messages(response)
    warnings = [text for level, text in found if level == "warning"]
    assert len(warnings) == 1
    assert "Problem: “Front limit” and “Back limit” can bounce tickets between Front and Back." in warnings[0]
    saved = Criterion.objects.get(name="Back limit")
    assert reverse("admin:routing_criterion_change", args=[saved.pk]) in warnings[0]
    assert found[-1] == (
        "info",
        f'The map has 1 other finding: <a href="{reverse("flow:page")}">see the Flow page</a>.',
    )


def test_saving_a_sound_criterion_adds_no_lint_messages(manager_client, two):
    response = manager_client.post(
        reverse("admin:routing_criterion_change", args=[two.up.pk]),
        _criterion_form(
            name=two.up.name, from_board=two.front.pk, to_board=two.back.pk, to_tier=2, description="Tuned"
        ),
    )
    assert response.status_code == 302
    assert [level for level, _ in _messages(response)] == ["success"]


def test_switching_off_the_way_back_in_the_list_shows_the_finding(manager_client, two):
    data = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 1,
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "form-0-id": two.down.pk,
        "form-0-position": two.down.position,
        "form-0-time_limit_minutes": "",
        "_save": "Save",
    }  # no form-0-active: unticked
    response = manager_client.post(reverse("admin:routing_criterion_changelist"), data)
    assert response.status_code == 302
    assert any("Back is a dead end" in text for level, text in _messages(response) if level == "warning")


def test_deleting_the_way_back_shows_the_finding(manager_client, two):
    response = manager_client.post(reverse("admin:routing_criterion_delete", args=[two.down.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert any("Back is a dead end" in text for _, text in _messages(response))


def test_adding_a_board_says_what_it_still_lacks(manager_client, two):
    response = manager_client.post(
        reverse("admin:boards_board_add"),
        {
            "name": "Projects",
            "slug": "projects",
            "purpose": "",
            "position": 5,
            "colour": "#4f6bed",
            "columns-TOTAL_FORMS": 0,
            "columns-INITIAL_FORMS": 0,
            "columns-MIN_NUM_FORMS": 0,
            "columns-MAX_NUM_FORMS": 1000,
            # The working-hours inline (calendars.admin.BoardCalendarInline): shown, nothing added.
            "calendar-TOTAL_FORMS": 0,
            "calendar-INITIAL_FORMS": 0,
            "calendar-MIN_NUM_FORMS": 0,
            "calendar-MAX_NUM_FORMS": 1,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    warnings = [text for level, text in _messages(response) if level == "warning"]
    assert any("Nobody works Projects" in text for text in warnings)
    assert any("Nothing reaches Projects" in text for text in warnings)
    assert any("Projects has no column to receive tickets" in text for text in warnings)


def test_taking_the_last_technician_off_a_board_warns(manager_client, two):
    tech = Technician.objects.get(boards=two.back)
    response = manager_client.post(
        reverse("admin:boards_technician_change", args=[tech.pk]),
        {"user": tech.user.pk, "tier": 2, "boards": [two.front.pk], "skills": []},
    )
    assert response.status_code == 302
    assert any("Nobody works Back" in text for level, text in _messages(response) if level == "warning")


def test_a_column_change_that_closes_arriving_tickets_warns(manager_client, two):
    new = Column.objects.get(board=two.back, category=C.NEW)
    new.tickets.all().delete()
    response = manager_client.post(
        reverse("admin:boards_column_change", args=[new.pk]),
        {"name": "New", "position": 0, "category": C.DONE, "wip_limit": ""},
    )
    assert response.status_code == 302
    assert any("closes tickets as it moves them" in text for level, text in _messages(response) if level == "warning")


def test_admin_shows_the_findings_as_html_with_working_links(manager_client, two):
    Skill.objects.create(name="Firewall")
    response = manager_client.post(
        reverse("admin:routing_criterion_change", args=[two.up.pk]),
        _criterion_form(name=two.up.name, from_board=two.front.pk, to_board=two.back.pk, to_tier=2),
        follow=True,
    )
    assert response.status_code == 200
    assert f'The map has 1 finding: <a href="{reverse("flow:page")}">see the Flow page</a>.' in response.text
