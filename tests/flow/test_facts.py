"""The precomputed facts (flow.facts) give the gauges exactly what the raw Move log gives.

Every check compares the whole page of gauges read two ways: from the raw log
alone (the facts switched off) and through the facts. The facts are built at
different moments — after the whole history, half way through it, before
moves that arrive late with older timestamps — and the page must not change.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext

from boards.models import Ticket
from boards.services import add_note
from flow import facts, gauges, graph
from flow.facts import Coverage
from flow.models import BoardTime, DailyCount, FactsState, NotePosition, RoutingStep, TicketFact
from flow.period import FlowQuery
from routing import services
from routing.models import Move
from tests.factories import make_ticket
from tests.flow.test_gauges import END, NOW, QUERY, START, at, build_history, col, move


def figures(query: FlowQuery = QUERY, now: datetime = NOW) -> dict:
    """Everything the page shows that comes from the log, in comparable form: the gauges and the map."""
    result = gauges.compute(query, now)
    tables = {t.name: (t.csv, t.total, t.count, t.definition) for t in [*result.tables, result.daily_table]}
    flow_map = graph.build(query, now)
    nodes = {n.id: (n.opened, n.resolved) for n in flow_map.nodes}
    arrows = sorted((a.criterion.pk, a.count) for a in flow_map.arrows)
    return {"summary": result.summary, "tables": tables, "nodes": nodes, "arrows": arrows}


def raw_figures(monkeypatch, query: FlowQuery = QUERY, now: datetime = NOW) -> dict:
    """The same, from the raw log alone: as if no build had ever run."""
    with monkeypatch.context() as patch:
        patch.setattr(Coverage, "read", classmethod(lambda cls: cls()))
        return figures(query, now)


def queries(desk) -> list[FlowQuery]:
    everything = FlowQuery(start=START - timedelta(days=7), end=NOW + timedelta(days=1), range_key="custom")
    return [
        QUERY,
        everything,
        FlowQuery(start=START, end=END, range_key="custom", board=desk.triage),
        FlowQuery(start=START, end=END, range_key="custom", board=desk.support),
    ]


def assert_same_as_raw(monkeypatch, desk, now: datetime = NOW) -> None:
    for query in queries(desk):
        assert figures(query, now) == raw_figures(monkeypatch, query, now), query


# --- The hand-counted history ------------------------------------------------------------------


def test_facts_give_the_hand_counted_figures(monkeypatch, desk, tier1, tier2):
    history = build_history(desk, tier1, tier2)
    raw = figures()

    built = facts.build(NOW)

    assert built is not None and built.tickets == len(history)
    assert Coverage.read().moves_through == Move.objects.latest("pk").pk
    assert figures() == raw
    # Through the facts, nothing is live: every ticket's figures come from its rows.
    assert TicketFact.objects.count() == len(history)
    assert BoardTime.objects.filter(ticket=history["A"]).count() == 2  # Triage and Support
    assert RoutingStep.objects.filter(ticket=history["H"]).count() == 3
    assert NotePosition.objects.count() == 3
    assert_same_as_raw(monkeypatch, desk)


def test_hand_counted_figures_hold_through_the_facts(desk, tier1, tier2):
    """The hand counts of test_gauges, read through the facts (a few of them, the ones the facts feed)."""
    history = build_history(desk, tier1, tier2)
    facts.build(NOW)

    result = gauges.compute(QUERY, NOW)
    times = {row[0]: row[1:] for row in result.table("time-on-board").csv}
    assert times["Triage"] == [3, 20.0, 52.0, 20.0, 76.0]
    assert times["Support"] == [3, 10.0, 50.0, 60.0, 68.0]
    assert times["NOC"] == [2, 10.0, 10.0, 10.0, 10.0]
    assert result.summary["first_board_resolution"] == pytest.approx(1 / 4)
    assert {row[0]: row[1:3] for row in result.table("bounces").csv} == {
        history["A"].pk: [2, "yes"],
        history["D"].pk: [2, "yes"],
        history["H"].pk: [3, "no"],
    }
    assert [row[0] for row in result.table("wasted").csv] == [history["A"].pk]
    assert result.table("wasted").csv[0][-1] == 30
    load = {(r[0], r[1]): r[-1] for r in result.table("load").csv}
    assert load[("Triage", 1)] == 5 and load[("Support", 2)] == 30


def test_time_on_board_percentiles_come_from_the_value_counts(desk, tier1, tier2):
    """The whole days' time on each board is counted per value bucket, and only the buckets
    holding the ranks are read: the same medians and 90th percentiles as sorting them all."""
    build_history(desk, tier1, tier2)
    facts.build(NOW)
    cover = Coverage.read()
    days = facts.whole_days(START, END, cover)

    found = facts.board_time_percentiles(START, END, cover, days, [desk.triage.pk, desk.support.pk], [])

    minutes = {board: [round(s / 60, 1) for s in figures[1:]] for board, figures in found.items()}
    assert minutes[desk.triage.pk] == [20.0, 52.0, 20.0, 76.0]
    assert minutes[desk.support.pk] == [10.0, 50.0, 60.0, 68.0]
    assert found[desk.triage.pk][0] == 3


def test_work_after_the_build_is_counted_live_and_then_built(monkeypatch, desk, tier1, tier2):
    """Facts built half way: later moves, moves stamped before the build, notes and edits all count."""
    triage, support = desk.triage, desk.support
    crit = desk.criteria
    a = make_ticket(board=triage, actor=tier1, now=at(0), title="A")
    b = make_ticket(board=triage, actor=tier1, now=at(5), title="B")
    move(a, tier1, at(10), criterion=crit["Beyond this tier"])
    add_note(a, author=tier2, body="On it", minutes_worked=20, now=at(20))
    assert facts.build(NOW) is not None

    # After the build: A comes back and is resolved; B escalates with a timestamp from
    # *before* the build's moves (a backdated import), and a note is logged on B.
    move(a, tier2, at(30), criterion=crit["User error discovered"])
    move(a, tier1, at(40), column=col(triage, "Resolved"))
    move(b, tier1, at(7), criterion=crit["Beyond this tier"])
    add_note(b, author=tier2, body="Backdated", minutes_worked=7, now=at(8))
    move(b, tier2, at(50), column=col(support, "Resolved"))

    assert_same_as_raw(monkeypatch, desk)
    result = gauges.compute(QUERY, NOW)
    assert result.summary["wasted_escalations"] == 1  # A, whose return came after the build
    assert {(r[0], r[1]): r[-1] for r in result.table("load").csv}[("Support", 2)] == 27  # 20 on A, 7 on B

    # An admin edits a note's minutes: read from the note itself, not from the facts.
    note = a.notes.get()
    note.minutes_worked = 45
    note.save()
    assert {(r[0], r[1]): r[-1] for r in gauges.compute(QUERY, NOW).table("load").csv}[("Support", 2)] == 52

    assert facts.build(NOW) is not None
    assert Coverage.read().moves_through == Move.objects.latest("pk").pk
    assert_same_as_raw(monkeypatch, desk)


def test_notes_edited_moved_or_deleted_in_admin_count_at_once(monkeypatch, desk, tier1, tier2):
    """A note's minutes feed the senior minutes of a wasted escalation and the minutes per board
    and tier; an admin may edit them, move the note to another ticket, or delete it."""
    history = build_history(desk, tier1, tier2)
    facts.build(NOW)
    note = history["A"].notes.get(minutes_worked=30)  # Sam's, while A sat on Support

    def senior_minutes():
        return gauges.compute(QUERY, NOW).table("wasted").csv[0][-1]

    note.minutes_worked = 40
    note.save()
    assert senior_minutes() == 40
    assert_same_as_raw(monkeypatch, desk)

    note.ticket = history["B"]
    note.save()
    assert senior_minutes() == 0
    assert_same_as_raw(monkeypatch, desk)

    history["A"].notes.all().delete()
    assert_same_as_raw(monkeypatch, desk)
    facts.build(NOW)
    assert_same_as_raw(monkeypatch, desk)


def test_a_ticket_whose_version_moved_on_is_rebuilt(monkeypatch, desk, tier1, tier2):
    """Self-healing: a move the watermark missed (its id below it) still reaches the facts,
    because the ticket's version no longer matches the one its facts were built from. The
    builds between checks read only what is new; the check comes every CHECK_EVERY."""
    history = build_history(desk, tier1, tier2)
    facts.build(NOW)
    TicketFact.objects.filter(ticket=history["A"]).update(version=1)  # as if built before its later moves
    BoardTime.objects.filter(ticket=history["A"]).delete()

    assert facts.build(NOW + timedelta(minutes=1)).tickets == 0  # not checked yet
    built = facts.build(NOW + facts.CHECK_EVERY)

    assert built.tickets == 1
    assert_same_as_raw(monkeypatch, desk)


def test_counts_that_stop_adding_up_are_counted_afresh_at_the_next_check(monkeypatch, desk, tier1, tier2):
    """A ticket deleted behind the ORM's back (raw SQL: no signal) leaves its daily counts; the
    next check sees the totals disagree with the log and counts afresh."""
    history = build_history(desk, tier1, tier2)
    facts.build(NOW)
    DailyCount.objects.filter(kind=facts.ROUTE).update(n=F("n") + 1)

    facts.build(NOW, check=True)

    assert (
        DailyCount.objects.filter(kind=facts.ROUTE).aggregate(n=Sum("n"))["n"]
        == Move.objects.filter(gauges.ROUTING).count()
    )
    assert history and figures() == raw_figures(monkeypatch)


def test_a_full_rebuild_gives_the_same_facts(monkeypatch, desk, tier1, tier2):
    build_history(desk, tier1, tier2)
    facts.build(NOW)
    before = sorted(BoardTime.objects.values_list("ticket_id", "board_id", "active_seconds", "wall_seconds"))

    built = facts.build(NOW, full=True)

    assert built.tickets == Ticket.objects.count()
    assert sorted(BoardTime.objects.values_list("ticket_id", "board_id", "active_seconds", "wall_seconds")) == before
    assert_same_as_raw(monkeypatch, desk)


def test_a_deleted_ticket_takes_its_facts_with_it(monkeypatch, desk, tier1, tier2):
    history = build_history(desk, tier1, tier2)
    facts.build(NOW)

    history["H"].delete()

    assert not TicketFact.objects.filter(ticket_id=history["H"].pk).exists()
    assert not RoutingStep.objects.filter(ticket_id=history["H"].pk).exists()
    assert_same_as_raw(monkeypatch, desk)


def test_the_page_reads_a_fixed_number_of_queries_with_facts(desk, tier1, tier2):
    build_history(desk, tier1, tier2, suffix=" 1")
    facts.build(NOW)
    with CaptureQueriesContext(connection) as small:
        gauges.compute(QUERY, NOW)
    for n in range(2, 4):
        build_history(desk, tier1, tier2, suffix=f" {n}")
    facts.build(NOW)
    build_history(desk, tier1, tier2, suffix=" live")  # and some not built yet
    with CaptureQueriesContext(connection) as large:
        result = gauges.compute(QUERY, NOW)

    assert result.summary["moves"] == 4 * 9
    assert len(large.captured_queries) == len(small.captured_queries)


def test_days_are_cut_in_the_site_time_zone(monkeypatch, desk, tier1, tier2, settings):
    """Daily counts follow the site's local days (here UTC+5:30, so a UTC midnight is mid-day);
    after the time zone changes they are not read until a build counts them afresh."""
    build_history(desk, tier1, tier2)
    facts.build(NOW)
    settings.TIME_ZONE = "Asia/Kolkata"
    assert facts.whole_days(START, END, Coverage.read()) is None  # counted in UTC: not read
    assert_same_as_raw(monkeypatch, desk)

    facts.build(NOW)

    days = facts.whole_days(START, END, Coverage.read())
    assert days is not None and days.start_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert_same_as_raw(monkeypatch, desk)


# --- The demo desk ---------------------------------------------------------------------------


def test_the_demo_history_gives_the_same_figures_through_the_facts(monkeypatch, db, time_machine):
    """boards.demo writes its history through the move service with backdated times and no
    build; the first build (the beat task's, or manage.py flow_facts) covers all of it."""
    from boards.demo import load_demo

    now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    load_demo(now, history_days=4)
    week = FlowQuery(start=now - timedelta(days=7), end=now, range_key="7d")
    raw = raw_figures(monkeypatch, week, now)
    assert raw["summary"]["moves"] > 0

    built = facts.build(now)

    assert built.tickets == Ticket.objects.count()
    assert figures(week, now) == raw
    assert Coverage.read().moves_through == Move.objects.latest("pk").pk


# --- A randomized history ----------------------------------------------------------------------


def random_history(desk, people, rng: random.Random, tickets: int, start: datetime, *, builds: int = 0):
    """``tickets`` tickets living random lives through the move service, interleaved in time:
    column moves (waiting pauses the clock), criteria by hand, notes, resolutions and reopenings,
    the sweep firing time limits now and then, and ``builds`` fact builds at random moments."""
    boards = [desk.triage, desk.support, desk.noc]
    criteria = list(desk.criteria.values())
    kinds = ["column"] * 4 + ["criterion"] * 2 + ["resolve"] * 2 + ["note", "sweep"]
    events = []
    for i in range(tickets):
        opened = start + timedelta(minutes=rng.uniform(0, 60 * 48))
        events.append((opened, "open", i))
        t = opened
        for _ in range(rng.randint(1, 10)):
            t += timedelta(minutes=rng.expovariate(1 / 30))
            events.append((t, rng.choice(kinds), i))
    build_at = set(rng.sample(range(len(events)), min(builds, len(events))))
    events.sort(key=lambda e: e[0])
    opened: dict[int, Ticket] = {}
    for n, (when, kind, i) in enumerate(events):
        if n in build_at:
            facts.build(when)
        if kind == "open":
            board = rng.choice(boards)
            opened[i] = make_ticket(board=board, tier=2 if board == desk.support else 1, actor=None, now=when)
            continue
        if kind == "sweep":
            services.sweep(when)
            continue
        ticket = Ticket.objects.get(pk=opened[i].pk)
        actor = rng.choice(people)
        columns = list(ticket.board.columns.all())
        if kind == "note":
            add_note(ticket, author=actor, body="work", minutes_worked=rng.randint(1, 60), now=when)
        elif kind == "resolve":
            done = [c for c in columns if c.is_done]
            target = done[0] if ticket.is_open else ticket.board.entry_column()  # resolve, or reopen
            move(ticket, actor, when, column=target)
        elif kind == "column" and ticket.is_open:
            column = rng.choice([c for c in columns if not c.is_done])
            if column.pk != ticket.column_id:
                move(ticket, actor, when, column=column)
        elif ticket.is_open:
            usable = [c for c in criteria if c.trigger != "time" and c.applies_to(ticket.board, ticket.tier)]
            if usable:
                move(ticket, actor, when, criterion=rng.choice(usable))
    services.sweep(start + timedelta(days=3))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_randomized_history_gives_the_same_figures(monkeypatch, desk, tier1, tier2, seed):
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 6, tzinfo=UTC)
    random_history(desk, [tier1, tier2], rng, 40, start, builds=5)
    now = start + timedelta(days=3)

    for query in (
        FlowQuery(start=start + timedelta(hours=12), end=start + timedelta(hours=40), range_key="custom"),
        FlowQuery(start=start - timedelta(days=1), end=now, range_key="custom"),
        FlowQuery(start=start, end=now, range_key="custom", board=desk.support),
    ):
        raw = raw_figures(monkeypatch, query, now)
        assert figures(query, now) == raw  # facts built part way, the rest live
        facts.build(now)
        assert figures(query, now) == raw  # everything built


# --- Concurrency: a transaction that commits after a later one --------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_move_committed_late_with_a_lower_id_is_not_missed(desk, tier1, tier2, monkeypatch):
    """Transaction 1 writes a move (a low id) and stays open; transaction 2 writes a move (a
    higher id) and commits. A build now must not mark the low id as covered: it waits for
    transaction 1, and gives up (builds nothing) if it does not end in time. (The two moves
    are on different boards: each move bumps its boards' revision row, which would serialize them.)"""
    late = make_ticket(board=desk.noc, actor=tier2, now=at(0), title="late")
    early = make_ticket(board=desk.support, tier=2, actor=tier2, now=at(0), title="early")
    facts.build(NOW)
    inside, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                move(late, tier2, at(10), column=col(desk.noc, "Resolved"))
                inside.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inside.wait(10)
    move(early, tier2, at(20), column=col(desk.support, "In progress"))  # a higher id, committed first
    assert not done.is_set()

    assert facts.build(NOW, wait_seconds=0.3) is None  # the slow writer still holds a lower id
    release.set()
    assert done.wait(10)
    thread.join()

    built = facts.build(NOW)
    assert built is not None and built.moves_through == Move.objects.latest("pk").pk
    assert TicketFact.objects.get(ticket=late).resolved_at == at(10)
    assert figures() == raw_figures(monkeypatch)
    assert figures()["summary"]["first_board_resolution"] == 1.0  # late, resolved on NOC


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_do_not_double_the_facts(desk, tier1, tier2):
    build_history(desk, tier1, tier2)
    FactsState.objects.get_or_create(pk=1)
    results = []

    def run():
        try:
            results.append(facts.build(NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert any(r is not None for r in results)
    assert TicketFact.objects.count() == Ticket.objects.count()
    assert RoutingStep.objects.count() == Move.objects.filter(gauges.ROUTING).count()
