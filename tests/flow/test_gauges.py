"""The Flow page's gauges against a small history whose right answers are counted by hand.

The period is 2 March 00:00 – 4 March 00:00 UTC (two days). ``history`` builds,
in time order, through the routing service (the scheduler's moves by a real sweep):

- E: opened and resolved on Triage on 1 March — wholly before the period.
- C: opened 1 March on Triage, *waiting* (clock paused); in the period escalated
  by hand (Beyond this tier) to Support, up a tier (2 → 3) and parked in
  Scheduled / Onsite; de-escalated to NOC on 4 March (after the period); open now.
- A: Triage at T0 = 2 March 09:00; 10 min New, 30 min waiting, 20 min In progress
  → the 30-minute limit fires at T0+60 (10 + 20 active; the wait does not count);
  60 min on Support (a 30-minute note by Sam at +90), "User error discovered"
  back to Triage at +120 (a 5-minute note by Tess at +130), resolved at +150.
- B: Triage T0+5, In progress +15, resolved +25: never left its first board.
- D: opened on NOC at T0+30 needing onsite: the condition moves it at once to
  Support's Scheduled / Onsite (a waiting column: its clock stays paused there);
  "Onsite complete" back to NOC at +100; resolved at +110.
- F: Triage T0+300, waiting from +310, still waiting now (open at the end).
- H: 3 March 09:00 on Triage; by hand to Support +10, Onsite complete to NOC +20,
  User-facing follow-up to Triage +30 (its third board move), resolved +40.
- L: opened 4 March 09:00 (after the period) and escalated by the sweep at 09:30.
- G: opened 5 March 11:00, overdue at NOW (5 March 12:00), never swept.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boards.services import add_note
from flow import gauges
from flow.period import FlowQuery
from routing import services
from routing.models import Criterion
from tests.factories import make_noc_p1_p2_limit, make_ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
START, END = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
QUERY = FlowQuery(start=START, end=END, range_key="custom")
CSV_PARAMS = "range=custom&start=2026-03-02&end=2026-03-03"


def at(minutes: float, day: int = 0) -> datetime:
    return T0 + timedelta(days=day, minutes=minutes)


def col(board, name):
    return board.columns.get(name=name)


def move(ticket, actor, when, *, criterion=None, column=None):
    return services.move_ticket(
        ticket.pk, actor=actor, expected_version=None, criterion=criterion, to_column=column, now=when, notify=False
    )


def build_history(desk, tess, sam, *, suffix=""):
    """The cast above; returns the tickets by letter."""
    triage, support, noc = desk.triage, desk.support, desk.noc
    crit = desk.criteria
    t = {}
    t["E"] = make_ticket(board=triage, actor=tess, now=at(-60, day=-1), title=f"E{suffix}")
    move(t["E"], tess, at(-40, day=-1), column=col(triage, "Resolved"))
    t["C"] = make_ticket(board=triage, column="Waiting on customer", actor=tess, now=at(0, day=-1), title=f"C{suffix}")
    t["A"] = make_ticket(board=triage, actor=tess, now=at(0), title=f"A{suffix}")
    t["B"] = make_ticket(board=triage, actor=tess, now=at(5), title=f"B{suffix}")
    move(t["A"], tess, at(10), column=col(triage, "Waiting on customer"))
    move(t["B"], tess, at(15), column=col(triage, "In progress"))
    move(t["B"], tess, at(25), column=col(triage, "Resolved"))
    t["D"] = make_ticket(board=noc, actor=sam, now=at(30), needs_onsite=True, title=f"D{suffix}")
    move(t["A"], tess, at(40), column=col(triage, "In progress"))
    assert services.sweep(at(60)) == 1  # A: 10 + 20 active minutes
    add_note(t["A"], author=sam, body="Looked into it", minutes_worked=30, now=at(90))
    move(t["D"], sam, at(100), criterion=crit["Onsite complete"])
    move(t["D"], sam, at(110), column=col(noc, "Resolved"))
    move(t["A"], sam, at(120), criterion=crit["User error discovered"])
    add_note(t["A"], author=tess, body="Showed the user", minutes_worked=5, now=at(130))
    move(t["A"], tess, at(150), column=col(triage, "Resolved"))
    move(t["C"], tess, at(200), criterion=crit["Beyond this tier"])
    move(t["C"], sam, at(205), criterion=crit["Beyond this tier (Support tier 2 → 3)"])
    move(t["C"], sam, at(210), column=col(support, "Scheduled / Onsite"))
    t["F"] = make_ticket(board=triage, actor=tess, now=at(300), title=f"F{suffix}")
    move(t["F"], tess, at(310), column=col(triage, "Waiting on customer"))
    t["H"] = make_ticket(board=triage, actor=tess, now=at(0, day=1), title=f"H{suffix}")
    move(t["H"], tess, at(10, day=1), criterion=crit["Beyond this tier"])
    move(t["H"], sam, at(20, day=1), criterion=crit["Onsite complete"])
    move(t["H"], sam, at(30, day=1), criterion=crit["User-facing follow-up"])
    move(t["H"], tess, at(40, day=1), column=col(triage, "Resolved"))
    t["L"] = make_ticket(board=triage, actor=tess, now=at(0, day=2), title=f"L{suffix}")
    assert services.sweep(at(30, day=2)) == 1
    move(t["C"], sam, at(60, day=2), criterion=crit["Onsite complete"])
    add_note(t["C"], author=sam, body="Onsite done", minutes_worked=15, now=at(120, day=2))
    t["G"] = make_ticket(board=triage, actor=tess, now=at(120, day=3), title=f"G{suffix}")
    for ticket in t.values():
        ticket.refresh_from_db()
    return t


@pytest.fixture
def history(desk, tier1, tier2):
    return build_history(desk, tier1, tier2)


def table(result, name):
    return result.table(name)


def by_first_cell(tbl):
    return {str(row[0]): row for row in tbl.csv}


# --- Summary ---------------------------------------------------------------------------


def test_summary_counts_only_moves_in_the_period(history):
    result = gauges.compute(QUERY, NOW)

    # Routing moves on 2–3 March: A ×2, C ×2 (Support, then tier 3), D ×2, H ×3 = 9.
    # Not E (no routing move), not C's 4 March move, not L's 4 March escalation.
    assert result.summary["moves"] == 9
    assert result.summary["escalations"] == 5  # A, C, C (tier), D, H
    assert result.summary["de_escalations"] == 3  # A (user error), D and H (onsite complete)
    assert result.summary["by_scheduler"] == 1  # A's time limit
    # Resolved in the period: A, B, D, H; only B never left its first board.
    assert result.summary["first_board_resolution"] == pytest.approx(1 / 4)
    assert result.summary["bounces"] == 3  # A and D (A→B→A within a day), H (third board move)
    assert result.summary["wasted_escalations"] == 1  # A
    assert result.summary["overdue_now"] == 1  # G


def test_headline_is_the_last_seven_days(history):
    figures = gauges.headline(NOW)

    assert set(figures) == {
        "period_label",
        "moves",
        "escalations",
        "de_escalations",
        "by_scheduler",
        "first_board_resolution",
        "bounces",
        "wasted_escalations",
        "overdue_now",
    }
    # 26 Feb 12:00 – 5 Mar 12:00: the period's 9 moves plus C's and L's on 4 March.
    assert figures["moves"] == 11
    assert figures["escalations"] == 6  # + L by the scheduler
    assert figures["de_escalations"] == 4  # + C onsite complete
    assert figures["by_scheduler"] == 2
    # Resolved: A, B, D, H and E (1 March); B and E never left.
    assert figures["first_board_resolution"] == pytest.approx(2 / 5)
    assert figures["bounces"] == 3
    assert figures["wasted_escalations"] == 1
    assert figures["overdue_now"] == 1
    assert figures["period_label"] == "Last 7 days"


# --- Matrix and criteria ------------------------------------------------------------------


def test_matrix_counts_board_moves_by_direction_and_by_who(history):
    rows = {(r[0], r[1]): r[2:] for r in table(gauges.compute(QUERY, NOW), "matrix").csv}

    # columns: moves, escalations, de-escalations, transfers, scheduler, condition, person
    assert rows == {
        ("Triage", "Support"): [3, 3, 0, 0, 1, 0, 2],  # A (limit), C and H (by hand)
        ("Support", "Triage"): [1, 0, 1, 0, 0, 0, 1],  # A, user error
        ("NOC", "Support"): [1, 1, 0, 0, 0, 1, 0],  # D, the onsite condition on opening
        ("Support", "NOC"): [2, 0, 2, 0, 0, 0, 2],  # D and H, onsite complete
        ("NOC", "Triage"): [1, 0, 0, 1, 0, 0, 1],  # H, user-facing follow-up
    }  # C's tier change 2 → 3 on Support is not a move between boards


def test_criteria_fired_share_and_came_back_within_a_day(history):
    rows = by_first_cell(table(gauges.compute(QUERY, NOW), "criteria"))

    # [name, trigger, direction, fired, share, came back, came back share]
    assert rows["Tier 1 time limit"][3:] == [1, round(1 / 9, 4), 1, 1.0]  # A came back down at +120
    assert rows["Needs onsite visit (from NOC)"][3:] == [1, round(1 / 9, 4), 1, 1.0]  # D back on NOC at +100
    # C went on up a tier next, H on to NOC: neither came straight back.
    assert rows["Beyond this tier"][3:] == [2, round(2 / 9, 4), 0, 0.0]
    assert rows["Beyond this tier (Support tier 2 → 3)"][3:] == [1, round(1 / 9, 4), 0, 0.0]
    assert rows["Onsite complete"][3:] == [2, round(2 / 9, 4), 0, 0.0]
    assert rows["User error discovered"][3:] == [1, round(1 / 9, 4), 0, 0.0]
    assert rows["User-facing follow-up"][3:] == [1, round(1 / 9, 4), 0, 0.0]
    assert sum(r[3] for r in rows.values()) == 9


# --- First board, time on board ----------------------------------------------------------------


def test_first_board_resolution_by_opening_board(history):
    rows = by_first_cell(table(gauges.compute(QUERY, NOW), "first-board"))

    # Triage opened A, B, H (A and H left); NOC opened D (left). E was resolved before the period.
    assert rows == {"Triage": ["Triage", 3, 1, round(1 / 3, 4)], "NOC": ["NOC", 1, 0, 0.0]}


def test_time_on_board_counts_waiting_as_paused_and_leaves_open_tickets_out(history):
    result = gauges.compute(QUERY, NOW)
    rows = by_first_cell(table(result, "time-on-board"))

    # Per ticket resolved in the period (active, wall) in minutes:
    # Triage: A (10 + 20 + 30 = 60 active; 60 + 30 = 90 wall), B (20, 20), H (10 + 10, 10 + 10)
    #   active [20, 20, 60]: median 20, p90 = 20 + 0.8 × 40 = 52; wall [20, 20, 90]: 20, 20 + 0.8 × 70 = 76
    # Support: A (60, 60), D (0, 70: it waited in Scheduled / Onsite), H (10, 10):
    #   active [0, 10, 60]: median 10, p90 = 10 + 0.8 × 50 = 50; wall [10, 60, 70]: 60, 60 + 0.8 × 10 = 68
    # NOC: D (0 on arrival + 10 after coming back), H (10): median 10, p90 10
    assert rows["Triage"][1:] == [3, 20.0, 52.0, 20.0, 76.0]
    assert rows["Support"][1:] == [3, 10.0, 50.0, 60.0, 68.0]
    assert rows["NOC"][1:] == [2, 10.0, 10.0, 10.0, 10.0]
    # Opened before 4 March and not resolved by then: C and F.
    assert "2 tickets still open at the end of the period are not counted" in table(result, "time-on-board").definition


# --- Wasted, bounces, breaches --------------------------------------------------------------


def test_wasted_escalation_and_the_senior_minutes(history):
    tbl = table(gauges.compute(QUERY, NOW), "wasted")

    # Only A: escalated by the time limit, next board move straight back to Triage.
    # D's onsite round trip was a condition's; H went on to NOC, not back to Triage.
    assert [row[0] for row in tbl.csv] == [history["A"].pk]
    # Sam's 30 minutes on Support count; Tess's 5 after the return do not.
    assert tbl.csv[0][-1] == 30
    assert tbl.csv[0][2:4] == ["Triage", "Support"]


def test_bounces(history):
    tbl = table(gauges.compute(QUERY, NOW), "bounces")
    rows = {row[0]: row[1:3] for row in tbl.csv}

    assert rows == {
        history["A"].pk: [2, "yes"],  # Triage → Support → Triage in an hour
        history["D"].pk: [2, "yes"],  # NOC → Support → NOC in 70 minutes
        history["H"].pk: [3, "no"],  # Triage → Support → NOC → Triage: the third board move
    }  # C's second board move is on 4 March, outside the period


def test_breach_rate_of_the_time_limit(history):
    rows = by_first_cell(table(gauges.compute(QUERY, NOW), "breaches"))

    # Left Triage tier 1 in the period: routing moves A (limit), C, H; resolutions there: A, B, H.
    assert rows["Tier 1 time limit"][1:] == ["Triage", 1, 30, 1, 6, round(1 / 6, 4), "", "", "", ""]


def test_breach_rate_names_limits_per_priority_and_never_prints_none(client, manager, history, desk, time_machine):
    Criterion.objects.filter(name="Tier 1 time limit").update(p1_limit_minutes=10)
    make_noc_p1_p2_limit(desk)

    tbl = table(gauges.compute(QUERY, NOW), "breaches")
    shown = {row[0]: row[3] for row in tbl.rows}

    assert shown == {"Tier 1 time limit": "30 min; P1 10 min", "NOC P1 and P2": "P1 10 min, P2 20 min only"}
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)
    response = client.get(f"/flow/gauges/breaches.csv?{CSV_PARAMS}")
    rows = {row[0]: row for row in csv.reader(io.StringIO(response.content.decode()))}
    assert rows["Time limit"][3] == "Limit (min, priorities without their own)"
    assert rows["Time limit"][-4:] == ["P1 limit (min)", "P2 limit (min)", "P3 limit (min)", "P4 limit (min)"]
    assert rows["Tier 1 time limit"][3] == "30" and rows["Tier 1 time limit"][-4:] == ["10", "", "", ""]
    assert rows["NOC P1 and P2"][3] == "" and rows["NOC P1 and P2"][-4:] == ["10", "20", "", ""]
    assert "None" not in response.content.decode()
    page = client.get(f"/flow/?{CSV_PARAMS}").content.decode()
    assert "P1 10 min, P2 20 min only" in page and "None min" not in page


# --- Load, stale, daily -------------------------------------------------------------------------


def test_load_per_board_and_tier(history):
    rows = {(r[0], r[1]): r[2:] for r in table(gauges.compute(QUERY, NOW), "load").csv}

    # [open now, overdue now, technicians, open per technician, minutes logged in the period]
    assert rows[("Triage", 1)] == [2, 1, 1, 2.0, 5]  # F, G (overdue); Tess; 5 min on A back on Triage
    assert rows[("Support", 2)] == [1, 0, 1, 1.0, 30]  # L; Sam; 30 min on A at Support tier 2
    assert rows[("NOC", 1)] == [1, 0, 0, None, 0]  # C since 4 March; its 15 min are after the period
    assert rows[("NOC", 2)] == [0, 0, 1, 0.0, 0]  # Sam works NOC too


def test_stale_tickets(history):
    result = gauges.compute(QUERY, NOW)
    oldest = table(result, "oldest").csv
    assert [(row[0], row[1]) for row in oldest] == [
        ("NOC", history["C"].pk),
        ("Triage", history["F"].pk),
        ("Triage", history["G"].pk),
        ("Support", history["L"].pk),
    ]
    # Default N = 3 days: F's last move (2 March 14:10) is under 3 days old at NOW.
    assert table(result, "idle").csv == []
    two_days = FlowQuery(start=START, end=END, range_key="custom", stale_days=2)
    idle = table(gauges.compute(two_days, NOW), "idle").csv
    assert [row[0] for row in idle] == [history["F"].pk]  # C had a note on 4 March, L and G moved since


def test_daily_chart_and_its_table(history):
    result = gauges.compute(QUERY, NOW)

    assert result.daily_table.csv == [["2026-03-02", 4, 2], ["2026-03-03", 1, 1]]
    assert len(result.chart.bars) == 2
    assert result.chart.peak == 4


# --- Board filter ----------------------------------------------------------------------------


def test_board_filter(history, desk):
    query = FlowQuery(start=START, end=END, range_key="custom", board=desk.triage)
    result = gauges.compute(query, NOW)

    # Moves leaving or reaching Triage: A ×2, C (to Support; its tier change is on Support), H ×2.
    assert result.summary["moves"] == 5
    assert {(r[0], r[1]) for r in table(result, "matrix").csv} == {
        ("Triage", "Support"),
        ("Support", "Triage"),
        ("NOC", "Triage"),
    }
    assert by_first_cell(table(result, "first-board")) == {"Triage": ["Triage", 3, 1, round(1 / 3, 4)]}
    assert [r[0] for r in table(result, "time-on-board").csv] == ["Triage"]
    assert result.summary["bounces"] == 2  # A (via Triage), H (its third move reaches Triage); not D
    assert [r[0] for r in table(result, "load").csv] == ["Triage"]


# --- Fixed number of queries, CSV downloads, the page ---------------------------------------------


def test_compute_takes_the_same_number_of_queries_however_much_history(desk, tier1, tier2):
    build_history(desk, tier1, tier2, suffix=" 1")
    with CaptureQueriesContext(connection) as small:
        gauges.compute(QUERY, NOW)
    for n in range(2, 5):
        build_history(desk, tier1, tier2, suffix=f" {n}")
    with CaptureQueriesContext(connection) as large:
        result = gauges.compute(QUERY, NOW)

    assert result.summary["moves"] == 4 * 9
    assert len(large.captured_queries) == len(small.captured_queries) <= 20


@pytest.mark.parametrize("name", sorted(gauges.BUILDERS))
def test_every_gauge_downloads_as_csv(client, manager, history, name, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)

    response = client.get(f"/flow/gauges/{name}.csv?{CSV_PARAMS}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, body = rows[0], rows[1:]
    expected_header, expected_rows = gauges.csv_rows(name, QUERY, NOW)
    assert header == expected_header
    assert len(body) == len(expected_rows)


def test_csv_of_the_matrix_holds_the_hand_counted_numbers(client, tier1, history, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(tier1)  # technicians may look, and download

    response = client.get(f"/flow/gauges/matrix.csv?{CSV_PARAMS}")

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["From", "To", "Moves"]
    assert ["Triage", "Support", "3", "3", "0", "0", "1", "0", "2"] in rows


def test_unknown_gauge_is_404(client, manager, desk):
    client.force_login(manager)
    assert client.get("/flow/gauges/nonsense.csv").status_code == 404


def test_the_page_shows_the_gauges_with_csv_links_and_an_accessible_chart(client, manager, history, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)

    response = client.get(f"/flow/?{CSV_PARAMS}")

    html = response.content.decode()
    assert response.status_code == 200
    for name in gauges.BUILDERS:
        assert f'href="/flow/gauges/{name}.csv?{CSV_PARAMS}"' in html.replace("&amp;", "&")
    assert '<svg class="daily-chart"' in html and '<title id="daily-title">' in html
    # The scale is the same both ways: the peak above the line, 0 on it, the peak below it.
    chart = html.split('<svg class="daily-chart"')[1].split("</svg>")[0]
    scale = re.findall(r'<text class="chart-scale"[^>]*>([^<]*)</text>', chart)
    assert len(scale) == 3 and scale[1] == "0" and scale[0] == scale[2] != "0"
    assert 'style="' not in html.split('id="gauges-heading"')[1]
    assert f'href="/tickets/{history["A"].pk}/"' in html  # the wasted escalation links to its ticket
