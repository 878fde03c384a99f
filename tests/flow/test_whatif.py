"""What-if against a small history counted by hand.

The Tier 1 time limit is 30 active minutes (Triage, tier 1 → Support). The
period is 2 March 00:00 – 4 March 00:00 UTC; T0 = 2 March 09:00. In time order:

- W: 1 March 09:00 on Triage, escalated by the sweep at 09:30 — before the period.
- P: T0, 10 min New, 30 min waiting (paused), In progress from +40 → the limit
  fires at +60 (10 + 20 active). On Support 10 active minutes in New, resolved at +70.
- Q: T0+100 New, resolved at +125 after 25 active minutes: no escalation.
- R: T0+200 New, In progress +205 → fires at +230. On Support: New for 5 minutes,
  then waiting on the customer from +235 until now (open).
- U: T0+300 New 5 min, waiting 120 min, In progress from +425, resolved +445:
  25 active minutes (145 of wall time), no escalation.
- V: 3 March 23:50 New, still running at the period's end; fires 4 March 00:20.
- S: 4 March 09:00, fires 09:30 — after the period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from boards.models import Board, Column, Ticket
from flow import whatif
from flow.period import FlowQuery
from routing import services
from routing.models import Criterion, Move
from tests.factories import make_ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
QUERY = FlowQuery(start=datetime(2026, 3, 2, tzinfo=UTC), end=datetime(2026, 3, 4, tzinfo=UTC), range_key="custom")
PARAMS = "range=custom&start=2026-03-02&end=2026-03-03"


def at(minutes: float, day: int = 0) -> datetime:
    return T0 + timedelta(days=day, minutes=minutes)


@pytest.fixture
def history(desk, tier1, tier2):
    triage, support = desk.triage, desk.support

    def move(ticket, who, when, board, column):
        services.move_ticket(
            ticket.pk,
            actor=who,
            expected_version=None,
            to_column=board.columns.get(name=column),
            now=when,
            notify=False,
        )

    t = {}
    t["W"] = make_ticket(board=triage, now=at(0, day=-1))
    assert services.sweep(at(30, day=-1)) == 1
    t["P"] = make_ticket(board=triage, now=at(0))
    move(t["P"], tier1, at(10), triage, "Waiting on customer")
    move(t["P"], tier1, at(40), triage, "In progress")
    assert services.sweep(at(60)) == 1
    move(t["P"], tier2, at(70), support, "Resolved")
    t["Q"] = make_ticket(board=triage, now=at(100))
    move(t["Q"], tier1, at(125), triage, "Resolved")
    t["R"] = make_ticket(board=triage, now=at(200))
    move(t["R"], tier1, at(205), triage, "In progress")
    assert services.sweep(at(230)) == 1
    move(t["R"], tier2, at(235), support, "Waiting on customer")
    t["U"] = make_ticket(board=triage, now=at(300))
    move(t["U"], tier1, at(305), triage, "Waiting on customer")
    move(t["U"], tier1, at(425), triage, "In progress")
    move(t["U"], tier1, at(445), triage, "Resolved")
    t["V"] = make_ticket(board=triage, now=at(14 * 60 + 50, day=1))  # 3 March 23:50
    assert services.sweep(at(15 * 60 + 20, day=1)) == 1  # 4 March 00:20
    t["S"] = make_ticket(board=triage, now=at(0, day=2))
    assert services.sweep(at(30, day=2)) == 1
    return {k: v.pk for k, v in t.items()}


@pytest.fixture
def limit(desk):
    return desk.criteria["Tier 1 time limit"]


def pks(outcomes):
    return sorted(o.ticket_id for o in outcomes)


def test_replaying_the_current_limit_reproduces_the_recorded_escalations(history, limit):
    whole = FlowQuery(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 6, tzinfo=UTC), range_key="custom")

    result = whatif.replay(whole, NOW, limit, limit.time_limit_minutes)

    assert result.not_happened == result.earlier == result.new == result.later == result.undecided == []
    assert result.unchanged == 5  # W, P, R, V, S
    assert result.replayed_now == result.recorded == 5
    # And the escalations the replay finds with today's limits are the scheduler's recorded ones, at their deadlines.
    recorded = {m.ticket_id: m.created_at for m in Move.objects.filter(criterion=limit, actor__isnull=True)}
    boards = {b.pk: b for b in Board.objects.all()}
    governs = whatif._Governs(services.active_time_criteria(), boards)
    runs = {c.pk: (c.clock_runs if not c.is_done else None) for c in Column.objects.all()}
    replayed = {}
    for stays in whatif._stays(whatif._read_history(whole, limit, NOW), NOW, boards, runs, {limit.pk}):
        for stay in stays:
            fire = whatif.first_fire(stay, governs)
            if fire is not None:
                replayed[stay.ticket_id] = fire.at
    assert replayed == recorded


def test_the_period_counts_only_its_own_escalations(history, limit):
    result = whatif.replay(QUERY, NOW, limit, limit.time_limit_minutes)

    assert result.unchanged == 2  # P and R; W is before the period, V and S after it
    assert result.replayed_now == result.recorded == 2


def test_raising_the_limit_to_45_minutes(history, limit):
    result = whatif.replay(QUERY, NOW, limit, 45)

    # P escalated at 30 active minutes, then needed 10 more on Support and was
    # resolved: 30 + 10 ≤ 45, so it would have been resolved on Triage.
    assert pks(result.not_happened) == [history["P"]]
    assert result.not_happened[0].note == "resolved after 10 more active minutes"
    # R: 5 active minutes on Support, then waiting (paused) and still open: 35 ≤ 45 so far.
    assert pks(result.undecided) == [history["R"]]
    assert result.earlier == result.new == result.later == []
    assert result.unchanged == 0


def test_raising_the_limit_to_35_minutes_leaves_an_escalation_that_comes_later(history, limit):
    result = whatif.replay(QUERY, NOW, limit, 35)

    # P needed 10 more active minutes, the new limit leaves 5: still escalated, 5 minutes later.
    assert pks(result.later) == [history["P"]]
    assert result.later[0].after.at == at(65)
    assert pks(result.undecided) == [history["R"]]  # 5 more so far, 5 left: not over it yet
    assert result.not_happened == []


def test_lowering_the_limit_to_20_minutes(history, limit):
    result = whatif.replay(QUERY, NOW, limit, 20)

    # P: 10 active in New, the 30 waiting minutes do not count, 10 more in progress → +50, not +60.
    # R: New 5 + In progress 15 → +220, not +230.
    assert pks(result.earlier) == [history["P"], history["R"]]
    assert {o.ticket_id: o.after.at for o in result.earlier} == {history["P"]: at(50), history["R"]: at(220)}
    assert all(o.shift_minutes == 10 for o in result.earlier)
    # Q (25 active) would escalate at +120; U (5 + 20 active; 120 waiting minutes) at +440.
    assert pks(result.new) == [history["Q"], history["U"]]
    assert {o.ticket_id: o.after.at for o in result.new} == {history["Q"]: at(120), history["U"]: at(440)}
    # V (open at the end of the period) would escalate at 00:10 on 4 March: still after the period.
    assert result.not_happened == result.later == result.undecided == []


def test_lowering_the_limit_to_5_minutes_brings_an_escalation_into_the_period(history, limit):
    result = whatif.replay(QUERY, NOW, limit, 5)

    # V was running at the period's end: at 5 minutes it escalates at 23:55 on 3 March.
    assert pks(result.earlier) == sorted([history["P"], history["R"], history["V"]])
    assert pks(result.new) == [history["Q"], history["U"]]


def test_switching_the_limit_off(history, limit):
    result = whatif.replay(QUERY, NOW, limit, None)

    # No other time limit governs Triage tier 1: neither escalation happens, whatever the work after.
    assert pks(result.not_happened) == [history["P"], history["R"]]
    assert result.earlier == result.new == result.later == result.undecided == []


def test_board_filter_keeps_stays_on_that_board(history, limit, desk):
    on_support = FlowQuery(start=QUERY.start, end=QUERY.end, range_key="custom", board=desk.support)

    assert whatif.replay(on_support, NOW, limit, 20).earlier == []


# --- The page ------------------------------------------------------------------------------


def test_the_page_lists_the_tickets_and_writes_nothing(client, manager, history, limit, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    before = (Move.objects.count(), Ticket.objects.count(), list(Ticket.objects.values_list("version", flat=True)))

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}&limit=45")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Would not have happened" in html
    assert f'href="/tickets/{history["P"]}/"' in html
    assert "the scheduler recorded 2" in html
    assert before == (
        Move.objects.count(),
        Ticket.objects.count(),
        list(Ticket.objects.values_list("version", flat=True)),
    )
    assert Criterion.objects.get(pk=limit.pk).time_limit_minutes == 30


def test_the_form_needs_a_limit_or_off(client, manager, history, limit):
    client.force_login(manager)

    response = client.get(f"/flow/what-if/?{PARAMS}&criterion={limit.pk}")

    assert response.status_code == 200
    assert "Give a new limit in minutes" in response.content.decode()
    assert response.context["result"] is None


def test_the_empty_form(client, manager, desk):
    client.force_login(manager)

    response = client.get("/flow/what-if/")

    assert response.status_code == 200
    assert response.context["result"] is None
    assert "Tier 1 time limit" in response.content.decode()


def test_a_technician_may_not_open_what_if(client, tier1, desk):
    client.force_login(tier1)

    assert client.get("/flow/what-if/").status_code == 403


def test_what_if_is_read_only_by_method(client, manager, desk):
    client.force_login(manager)

    assert client.post("/flow/what-if/").status_code == 405
