"""The Flow map: its figures against a hand-counted history, and a layout that stays readable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from boards.models import Board, Column
from flow import graph
from flow.period import FlowQuery
from routing import services
from routing.models import Criterion, Direction
from tests.factories import make_noc_p1_p2_limit, make_ticket

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def q(params: str = "", now: datetime = NOW) -> FlowQuery:
    return FlowQuery.from_query(QueryDict(params), now)


def resolve(ticket, actor, at):
    done = ticket.board.columns.get(category=Column.Category.DONE)
    return services.move_ticket(ticket.pk, actor=actor, expected_version=None, to_column=done, now=at)


@pytest.fixture
def history(desk, tier1, tier2):
    """A week's history, counted by hand (the default period is the 7 days before NOW).

    - t1: opened on Triage 2 days ago; the scheduler escalates it to Support at
      30 active minutes; Sam finds user error a day ago (back to Triage); Tess
      resolves it on Triage.                                   (all in the period)
    - t2: opened on Triage 10 days ago, escalated by hand 9 days ago (both
      outside the period), resolved on Support 3 days ago.     (resolution inside)
    - t3: opened on NOC a day ago, still open.
    - t4: opened on Triage an hour ago, nobody touched it: 30 minutes overdue.
    - t5: opened on Triage 5 days ago and waiting on the customer ever since
      (clock paused: open, not overdue).
    """
    triage, support, noc = desk.boards["triage"], desk.boards["support"], desk.boards["noc"]
    c = desk.criteria
    t1 = make_ticket(board=triage, title="Printer offline", now=NOW - timedelta(days=2))
    assert services.sweep(NOW - timedelta(days=2) + timedelta(minutes=31)) == 1
    services.move_ticket(
        t1.pk,
        actor=tier2,
        expected_version=None,
        criterion=c["User error discovered"],
        direction=Direction.DE_ESCALATE,
        now=NOW - timedelta(days=1),
    )
    t1.refresh_from_db()
    resolve(t1, tier1, NOW - timedelta(days=1) + timedelta(hours=1))

    t2 = make_ticket(board=triage, title="VPN drops", now=NOW - timedelta(days=10))
    services.move_ticket(
        t2.pk,
        actor=tier1,
        expected_version=None,
        criterion=c["Beyond this tier"],
        direction=Direction.ESCALATE,
        now=NOW - timedelta(days=9),
    )
    t2.refresh_from_db()
    resolve(t2, tier2, NOW - timedelta(days=3))

    t3 = make_ticket(board=noc, title="Backup job failed", now=NOW - timedelta(days=1))
    t4 = make_ticket(board=triage, title="Cannot log in", now=NOW - timedelta(hours=1))
    t5 = make_ticket(
        board=triage, column="Waiting on customer", title="New starter laptop", now=NOW - timedelta(days=5)
    )
    return type("History", (), {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "support": support})


def arrow(flow_map, name):
    return next(a for a in flow_map.arrows if a.criterion.name == name)


def node(flow_map, slug):
    return next(n for n in flow_map.nodes if n.slug == slug)


def test_arrows_count_the_moves_each_criterion_made_in_the_period(history):
    m = graph.build(q(), NOW)
    assert arrow(m, "Tier 1 time limit").count == 1
    assert arrow(m, "User error discovered").count == 1
    # t2's escalation was 9 days ago: outside the 7-day period.
    assert arrow(m, "Beyond this tier").count == 0
    assert m.total_moves == 2


def test_a_longer_period_takes_in_the_older_moves(history):
    m = graph.build(q("range=30d"), NOW)
    assert arrow(m, "Beyond this tier").count == 1
    assert node(m, "triage").opened == 4  # t1, t2, t4, t5


def test_nodes_show_intake_resolution_and_open_tickets_now(history):
    m = graph.build(q(), NOW)
    triage, support, noc = node(m, "triage"), node(m, "support"), node(m, "noc")
    # Opened in the period: t1, t4, t5 on Triage; t3 on NOC; t2 was opened before it.
    assert (triage.opened, noc.opened, support.opened) == (3, 1, 0)
    # Resolved in the period: t1 on Triage, t2 on Support.
    assert (triage.resolved, support.resolved, noc.resolved) == (1, 1, 0)
    # Open now: t4 (30 minutes overdue) and t5 (waiting, no clock) on Triage; t3 on NOC.
    assert (triage.open_count, triage.overdue_count) == (2, 1)
    assert (noc.open_count, noc.overdue_count) == (1, 0)
    assert (support.open_count, support.overdue_count) == (0, 0)


def test_tiers_inside_a_node_are_the_staffed_ones_and_those_with_open_tickets(history):
    m = graph.build(q(), NOW)
    assert node(m, "triage").tiers == [1]
    assert node(m, "support").tiers == [2]  # Sam, tier 2
    assert node(m, "support").tier_text == "Tier 2"


def test_a_custom_period_counts_whole_days(history):
    day = (NOW - timedelta(days=2)).date().isoformat()
    m = graph.build(q(f"range=custom&start={day}&end={day}"), NOW)
    assert arrow(m, "Tier 1 time limit").count == 1
    assert arrow(m, "User error discovered").count == 0  # the day after
    assert node(m, "triage").opened == 1


def test_a_board_filter_keeps_that_boards_arrows_and_their_other_ends(history, desk):
    m = graph.build(q("board=noc"), NOW)
    names = {a.criterion.name for a in m.arrows}
    assert "Tier 1 time limit" not in names
    assert {"Needs onsite visit (from NOC)", "Onsite complete", "User-facing follow-up"} <= names
    shown = {n.slug for n in m.nodes}
    assert shown == {"noc", "support", "triage"}
    assert node(m, "noc").show_stubs and not node(m, "support").show_stubs


def test_a_switched_off_criterion_stays_on_the_map_while_it_moved_tickets_in_the_period(history, desk):
    Criterion.objects.filter(name="Tier 1 time limit").update(active=False)
    Criterion.objects.filter(name="Beyond this tier").update(active=False)
    names = {a.criterion.name: a for a in graph.build(q(), NOW).arrows}
    assert "Tier 1 time limit" in names and not names["Tier 1 time limit"].criterion.active
    assert "(off)" in names["Tier 1 time limit"].label
    assert "Beyond this tier" not in names  # off, and idle in the period


def test_the_map_takes_the_same_queries_whatever_the_size_of_the_history(desk, tier1):
    triage = desk.boards["triage"]
    make_ticket(board=triage, now=NOW - timedelta(days=1))
    with CaptureQueriesContext(connection) as small:
        graph.build(q(), NOW)
    for i in range(15):
        t = make_ticket(board=triage, now=NOW - timedelta(days=1, minutes=i))
        resolve(t, tier1, NOW - timedelta(hours=i + 1))
    with CaptureQueriesContext(connection) as large:
        graph.build(q(), NOW)
    # Boards, criteria, how far the precomputed facts go, moves per criterion, openings and
    # resolutions (whole days from the daily counts once built: one more query each), open
    # tickets, staffed tiers, alert sources.
    assert len(large) == len(small) <= 11


def test_criterion_names_are_escaped_and_the_svg_file_is_well_formed(desk):
    Criterion.objects.filter(name="Beyond this tier").update(name='<script>alert("x")</script> & more')
    flow_map = graph.build(q("range=30d&board=triage"), NOW)
    svg = graph.render_svg(flow_map, standalone=True)
    assert "<script>" not in svg
    root = ET.fromstring(svg)  # parses: every & and < escaped, every tag closed
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any('<script>alert("x")</script> & more' in (t or "") for t in titles)


def test_directions_differ_by_line_and_arrowhead_not_only_colour(desk):
    svg = graph.build(q(), NOW).svg
    assert 'marker-end="url(#head-escalate)"' in svg
    assert 'marker-end="url(#head-deescalate)"' in svg
    assert 'marker-end="url(#head-transfer)"' in svg


# --- Readable at size --------------------------------------------------------------------


def _big_desk(boards: int = 8, criteria: int = 30):
    """8 boards and 30 criteria between them: escalations, de-escalations, transfers, tier loops."""
    made = []
    for i in range(boards):
        board = Board.objects.create(name=f"Board {i}", slug=f"b{i}", position=i)
        Column.objects.create(board=board, name="New", category=Column.Category.NEW)
        made.append(board)
    kinds = [Direction.ESCALATE, Direction.DE_ESCALATE, Direction.TRANSFER]
    for n in range(criteria):
        src = made[n % boards]
        dst = made[(n * 3 + 1) % boards]
        direction = kinds[n % 3]
        if n % 7 == 0:  # a change of tier on the same board: a loop
            Criterion.objects.create(
                name=f"Criterion {n} with a fairly long name",
                direction=direction,
                trigger=Criterion.Trigger.MANUAL,
                from_board=src,
                to_tier=2,
                position=n,
            )
            continue
        Criterion.objects.create(
            name=f"Criterion {n} with a fairly long name",
            direction=direction,
            trigger=Criterion.Trigger.MANUAL,
            from_board=src,
            to_board=dst,
            position=n,
        )
    return made


@pytest.mark.django_db
def test_eight_boards_and_thirty_criteria_lay_out_without_overlapping_labels():
    _big_desk()
    m = graph.build(q(), NOW)
    assert len(m.nodes) == 8 and len(m.arrows) == 30
    boxes = []
    for a in m.arrows:
        left = a.label_x if a.label_anchor == "start" else a.label_x - a.label_width / 2
        box = (left, a.label_y - 12, left + a.label_width, a.label_y + 2)
        for other in boxes:
            overlap_x = box[0] < other[0][2] and other[0][0] < box[2]
            overlap_y = box[1] < other[0][3] and other[0][1] < box[3]
            assert not (overlap_x and overlap_y), (a.criterion.name, other[1])
        boxes.append((box, a.criterion.name))
        assert 0 <= a.label_y <= m.height
        assert box[0] >= 0 and box[2] <= m.width, a.criterion.name  # inside the picture, not cut off
    # Every arc clears the arcs nested inside it on its side of the row.
    for a in m.arrows:
        for b in m.arrows:
            if a is b or a.above != b.above:
                continue
            a_lo, a_hi = sorted((a.x1, a.x2))
            b_lo, b_hi = sorted((b.x1, b.x2))
            if a_lo < b_lo and b_hi < a_hi:
                assert a.level > b.level, (a.criterion.name, b.criterion.name)


def test_arrow_moves_list_the_tickets_an_arrow_carried(history, desk):
    c = desk.criteria["Tier 1 time limit"]
    found = graph.arrow_moves("criterion", c.pk, q())
    assert found.total == 1
    assert [mv.ticket_id for mv in found.moves] == [history.t1.pk]
    assert found.moves[0].actor_name == "the scheduler"
    resolved = graph.arrow_moves("resolved", desk.boards["support"].pk, q())
    assert [mv.ticket_id for mv in resolved.moves] == [history.t2.pk]
    opened = graph.arrow_moves("opened", desk.boards["triage"].pk, q())
    assert {mv.ticket_id for mv in opened.moves} == {history.t1.pk, history.t4.pk, history.t5.pk}
    assert graph.arrow_moves("criterion", 999_999, q()) is None
    assert graph.arrow_moves("sideways", c.pk, q()) is None


def test_the_intake_stub_says_how_many_tickets_alert_sources_opened(history, desk):
    from intake.models import Alert, AlertSource

    source = AlertSource(name="Prometheus", board=desk.boards["noc"])
    source.set_token("a-token-long-enough-for-the-test-0123456789")
    source.save()
    Alert.objects.create(source=source, fingerprint="f1", ticket=history.t3, kind="alertmanager", fired_at=NOW)
    m = graph.build(q(), NOW)
    assert node(m, "noc").opened_by_source == [("Prometheus", 1)]
    assert (
        node(m, "noc").opened_text
        == "1 ticket opened on NOC in the period: 1 by Prometheus; 0 by people and other channels"
    )
    assert node(m, "triage").opened_text == "3 tickets opened on Triage in the period"
    assert "1 by Prometheus" in m.svg
    assert node(graph.build(q("board=noc"), NOW), "noc").opened_by_source == [("Prometheus", 1)]


def test_a_time_arrow_names_its_limits_per_priority(desk):
    limit = desk.criteria["Tier 1 time limit"]
    Criterion.objects.filter(pk=limit.pk).update(p1_limit_minutes=10)
    noc_fast = make_noc_p1_p2_limit(desk)

    m = graph.build(q("range=30d"), NOW)

    assert arrow(m, "Tier 1 time limit").trigger_text == "time limit 30 min; P1 10 min"
    assert arrow(m, noc_fast.name).trigger_text == "time limit P1 10 min, P2 20 min only"
    svg = graph.render_svg(m, standalone=True)
    assert "None" not in svg and "P1 10 min, P2 20 min only" in svg


def test_an_inactivity_arrow_says_its_working_hours(desk):
    idle = Criterion.objects.create(
        name="Untouched for three days",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.INACTIVITY,
        from_board=desk.triage,
        to_board=desk.support,
        idle_hours=30,
    )

    assert arrow(graph.build(q(), NOW), idle.name).trigger_text == "no activity for 30 working hours"
