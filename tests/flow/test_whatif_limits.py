"""What-if with limits per priority and on a board with working hours, counted by hand.

Priorities: the Tier 1 time limit (Triage, tier 1 → Support) gets a P1 limit
of 10 active minutes besides its general 30. T0 = Monday 2 March 2026 09:00 UTC.

- P1 ticket A: opened T0, escalated by the sweep at +10 (its P1 limit);
  resolved on Support at +40 (30 active minutes there).
- P3 ticket B: opened T0, escalated at +30; resolved on Support at +35.

Working hours: Triage works Mon–Fri 08:00–18:00 Europe/London (GMT in early
March, so local time is UTC); Support has no calendar (wall time).

- F: opened Friday 6 March 17:25, escalated at 17:55 (30 working minutes);
  resolved on Support at 18:55, 60 minutes later.
- G: opened Friday 17:50, 10 working minutes that evening; escalated Monday
  9 March 08:20; resolved on Support at 08:30.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calendars.seed import seed_calendars
from flow import whatif
from flow.period import FlowQuery
from routing import services
from routing.models import Criterion, Move
from tests.factories import make_ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 3, 6, tzinfo=UTC)
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
WEEK = FlowQuery(start=datetime(2026, 3, 2, tzinfo=UTC), end=datetime(2026, 3, 11, tzinfo=UTC), range_key="custom")
PARAMS = "range=custom&start=2026-03-02&end=2026-03-10"


def at(minutes: float, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes)


def friday(hour: int, minute: int) -> datetime:
    return FRIDAY.replace(hour=hour, minute=minute)


def monday(hour: int, minute: int) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute)


def resolve(ticket, who, when, board):
    services.move_ticket(
        ticket.pk,
        actor=who,
        expected_version=None,
        to_column=board.columns.get(name="Resolved"),
        now=when,
        notify=False,
    )


@pytest.fixture
def limit(desk):
    return desk.criteria["Tier 1 time limit"]


@pytest.fixture
def by_priority(desk, limit, tier2):
    Criterion.objects.filter(pk=limit.pk).update(p1_limit_minutes=10)
    a = make_ticket(board=desk.triage, now=T0, priority=1)
    b = make_ticket(board=desk.triage, now=T0, priority=3)
    assert services.sweep(at(10)) == 1
    assert services.sweep(at(30)) == 1
    resolve(b, tier2, at(35), desk.support)
    resolve(a, tier2, at(40), desk.support)
    limit.refresh_from_db()
    return {"A": a.pk, "B": b.pk}


@pytest.fixture
def weekend(desk, limit, tier2):
    seed_calendars({"triage": desk.triage})
    f = make_ticket(board=desk.triage, now=friday(17, 25))
    g = make_ticket(board=desk.triage, now=friday(17, 50))
    assert services.sweep(friday(17, 55)) == 1
    resolve(f, tier2, friday(18, 55), desk.support)
    assert services.sweep(monday(8, 19)) == 0  # the weekend does not count
    assert services.sweep(monday(8, 20)) == 1
    resolve(g, tier2, monday(8, 30), desk.support)
    return {"F": f.pk, "G": g.pk}


def fired(outcomes) -> dict[int, datetime]:
    return {o.ticket_id: o.after.at for o in outcomes}


# --- Limits per priority ---------------------------------------------------------------


def test_replaying_todays_limits_gives_each_priority_its_own(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, 30)  # the general limit as it is

    assert result.unchanged == 2
    assert result.replayed_now == result.recorded == 2
    assert result.earlier == result.later == result.new == result.not_happened == result.undecided == []


def test_a_p1_limit_of_5_minutes_brings_only_the_p1_escalation_forward(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, 5, priority=1)

    assert fired(result.earlier) == {by_priority["A"]: at(5)}
    assert result.earlier[0].before.at == at(10) and result.earlier[0].priority == 1
    assert result.unchanged == 1  # B, a P3, keeps the general 30
    assert result.change_text == "“Tier 1 time limit”'s P1 limit at 5 instead of 10 active minutes"


def test_a_general_limit_of_20_minutes_leaves_the_p1_limit_alone(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, 20)

    assert fired(result.earlier) == {by_priority["B"]: at(20)}
    assert result.unchanged == 1  # A keeps its own 10
    assert result.change_text == (
        "“Tier 1 time limit”'s general limit at 20 instead of 30 active minutes (P1 10 min kept)"
    )


def test_a_longer_p1_limit_lets_the_p1_ticket_be_resolved_on_triage(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, 45, priority=1)

    # A escalated at 10 and needed 30 more active minutes: 10 + 30 ≤ 45.
    assert [o.ticket_id for o in result.not_happened] == [by_priority["A"]]
    assert result.not_happened[0].note == "resolved after 30 more active minutes"
    assert result.unchanged == 1


def test_a_p2_limit_on_a_criterion_without_one_reads_from_the_general_limit(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, 5, priority=2)

    assert result.change_text == "“Tier 1 time limit”'s P2 limit at 5 instead of the general 30 active minutes"
    assert result.unchanged == 2  # no P2 ticket in the period


def test_a_general_limit_for_a_criterion_with_priority_limits_only(by_priority, limit):
    Criterion.objects.filter(pk=limit.pk).update(time_limit_minutes=None)
    limit.refresh_from_db()

    result = whatif.replay(WEEK, NOW, limit, 20)

    # Today only P1 has a limit, so today's limits would not escalate B (a P3; the log's escalation at
    # +30 came from the general limit it had then). With a general 20 it goes at +20: a new escalation.
    assert result.change_text == (
        "“Tier 1 time limit”'s general limit at 20 active minutes for the priorities without their own "
        "(it had none: P1 10 min only)"
    )
    assert fired(result.new) == {by_priority["B"]: at(20)}
    assert result.unchanged == 1  # A keeps its P1 10
    assert (result.replayed_now, result.recorded) == (1, 2)


def test_switching_off_a_criterion_with_priority_limits_stops_every_priority(by_priority, limit):
    result = whatif.replay(WEEK, NOW, limit, None)

    assert sorted(o.ticket_id for o in result.not_happened) == sorted(by_priority.values())


# --- Working hours ----------------------------------------------------------------------


def test_replaying_todays_limit_on_a_calendar_board_matches_the_scheduler(weekend, limit):
    result = whatif.replay(WEEK, NOW, limit, 30)

    assert result.unchanged == 2
    assert result.replayed_now == result.recorded == 2
    recorded = dict(Move.objects.filter(criterion=limit, actor__isnull=True).values_list("ticket_id", "created_at"))
    assert recorded == {weekend["F"]: friday(17, 55), weekend["G"]: monday(8, 20)}


def test_a_shorter_limit_counts_the_working_minutes_across_the_weekend(weekend, limit):
    result = whatif.replay(WEEK, NOW, limit, 20)

    # F: 20 working minutes from 17:25 is 17:45. G: 10 minutes on Friday evening, 10 on Monday morning.
    assert fired(result.earlier) == {weekend["F"]: friday(17, 45), weekend["G"]: monday(8, 10)}


def test_a_limit_that_ends_before_the_evening_fires_on_friday(weekend, limit):
    result = whatif.replay(WEEK, NOW, limit, 5)

    assert fired(result.earlier)[weekend["G"]] == friday(17, 55)


def test_a_longer_limit_estimates_the_escalation_in_working_time(weekend, limit):
    result = whatif.replay(WEEK, NOW, limit, 45)

    # F escalated at 17:55 with 30 working minutes; its 60 minutes on Support are more than the 15 a
    # limit of 45 leaves, so it still escalates — 15 working minutes after 17:55: Monday 08:10, not 18:10.
    assert fired(result.later) == {weekend["F"]: monday(8, 10)}
    assert result.later[0].note == "estimated"
    # G needed 10 more minutes: 30 + 10 ≤ 45, resolved on Triage.
    assert [o.ticket_id for o in result.not_happened] == [weekend["G"]]
    assert result.not_happened[0].note == "resolved after 10 more active minutes"


# --- The page ---------------------------------------------------------------------------


def test_the_page_replays_a_p1_limit(client, manager, by_priority, limit, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}&priority=1&limit=5")

    html = response.content.decode()
    assert response.status_code == 200
    assert "With “Tier 1 time limit”&#x27;s P1 limit at 5 instead of 10 active minutes" in html
    assert f'href="/tickets/{by_priority["A"]}/"' in html
    assert "Tier 1 time limit (30 min; P1 10 min)" in html  # the choice names each criterion's limits
    assert Criterion.objects.get(pk=limit.pk).p1_limit_minutes == 10  # nothing saved


def test_the_page_shows_the_monday_moment_across_the_weekend(client, manager, weekend, limit, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}&limit=20")

    assert response.status_code == 200
    assert "2026-03-09 08:10" in response.content.decode()


def test_switching_off_takes_no_priority(client, manager, desk, limit):
    client.force_login(manager)

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}&priority=1&off=on")

    assert response.status_code == 200
    assert response.context["result"] is None
    assert "Switching off leaves out the whole criterion" in response.content.decode()


def test_an_unknown_priority_is_refused(client, manager, desk, limit):
    client.force_login(manager)

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}&priority=9&limit=5")

    assert response.status_code == 200
    assert response.context["result"] is None
    assert "priority" in response.context["form"].errors
