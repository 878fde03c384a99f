"""A delivery's new alerts are opened together, and every answer is still the one its alert would get alone."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boards.models import Client, Ticket
from intake.models import Alert
from tests.intake.conftest import NOW, am_alert, am_payload, post_alerts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def resolved(alert: dict) -> dict:
    return {**alert, "status": "resolved", "endsAt": "2026-03-02T03:04:00Z"}


def test_a_mixed_delivery_answers_each_alert_in_order(client, desk, source):
    a, b = am_alert("aaaa"), am_alert("bbbb", labels={"instance": "db-2"})
    c = am_alert("cccc", labels={"client": "Northwind"})

    answers = post_alerts(client, source, am_payload(resolved(b), a, b, resolved(a), c, b)).json()["alerts"]

    assert [x["result"] for x in answers] == ["ignored", "opened", "opened", "resolved", "opened", "repeat"]
    tickets = {alert.fingerprint: alert.ticket for alert in Alert.objects.select_related("ticket")}
    order = ("aaaa", "bbbb", "aaaa", "cccc", "bbbb")
    assert [x["ticket"] for x in answers] == [None] + [tickets[fp].pk for fp in order]
    assert not tickets["aaaa"].is_open  # resolved in the same delivery that opened it
    assert tickets["bbbb"].is_open and tickets["cccc"].is_open
    assert tickets["cccc"].client == Client.objects.get(name="Northwind")
    assert all(t.board == desk.noc and t.moves.first().note == "Opened" for t in tickets.values())


def test_a_delivery_of_100_new_alerts_costs_the_statements_of_5(client, source):
    def statements(prefix: str, count: int) -> int:
        alerts = [am_alert(f"{prefix}{n:04d}", labels={"instance": f"host-{n}"}) for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            response = post_alerts(client, source, am_payload(*alerts))
        assert {x["result"] for x in response.json()["alerts"]} == {"opened"}
        return len(queries.captured_queries)

    few, many = statements("few", 5), statements("many", 100)

    assert Ticket.objects.count() == 105
    if connection.vendor == "postgresql":  # SQLite caps a statement's parameters: it takes a few more
        assert many == few
    else:
        assert many < few + 20


def test_a_row_that_slipped_in_sends_the_new_alerts_one_by_one_and_answers_it_as_a_repeat(client, source, monkeypatch):
    """The race the unique constraint settles, for one of several new alerts in a delivery."""
    from intake import services

    post_alerts(client, source, am_payload(am_alert("bbbb")))
    existing = Ticket.objects.get()
    monkeypatch.setattr(services._Delivery, "load", lambda self, fingerprints: None)  # sees nothing

    answers = post_alerts(client, source, am_payload(am_alert("aaaa"), am_alert("bbbb"), am_alert("cccc")))

    results = [(x["fingerprint"], x["result"]) for x in answers.json()["alerts"]]
    assert results == [("aaaa", "opened"), ("bbbb", "repeat"), ("cccc", "opened")]
    assert answers.json()["alerts"][1]["ticket"] == existing.pk
    assert Ticket.objects.count() == 3 and Alert.objects.current().count() == 3


def test_resolutions_in_one_delivery_resolve_the_unworked_and_hold_the_worked(client, desk, source, tier2):
    alerts = [am_alert(f"r{n}", labels={"instance": f"db-{n}"}) for n in range(3)]
    post_alerts(client, source, am_payload(*alerts))
    worked = Alert.objects.get(fingerprint="r1").ticket
    Ticket.objects.filter(pk=worked.pk).update(assignee=tier2)

    answers = post_alerts(client, source, am_payload(*map(resolved, alerts))).json()["alerts"]

    assert [x["result"] for x in answers] == ["resolved", "held", "resolved"]
    tickets = {a.fingerprint: a.ticket for a in Alert.objects.select_related("ticket")}
    assert [tickets[f"r{n}"].is_open for n in range(3)] == [False, True, False]
    assert tickets["r1"].alert.resolved_while_worked and tickets["r1"].alert.status == Alert.Status.RESOLVED
    for ticket in tickets.values():
        assert ticket.notes.get().body == "Resolved in Prometheus (ended 2026-03-02 03:04 UTC)."
    assert tickets["r0"].moves.order_by("-pk").first().note == "The alert resolved before anyone worked the ticket."


def test_an_alert_resolving_firing_again_and_resolving_in_one_delivery_ends_resolved(client, source):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    again = am_alert(starts_at="2026-03-02T03:05:00Z")
    over = {**resolved(again), "endsAt": "2026-03-02T03:06:00Z"}

    answers = post_alerts(client, source, am_payload(resolved(alert), again, over)).json()["alerts"]

    assert [x["result"] for x in answers] == ["resolved", "reopened", "resolved"]
    ticket = Ticket.objects.get()
    assert not ticket.is_open and ticket.alert.reopened == 1
    assert [m.to_column.category for m in ticket.moves.order_by("pk")] == ["new", "done", "new", "done"]


def test_each_resolution_in_a_delivery_costs_one_statement_its_note(client, source):
    def statements(prefix: str, count: int) -> int:
        alerts = [am_alert(f"{prefix}{n:04d}", labels={"instance": f"host-{n}"}) for n in range(count)]
        post_alerts(client, source, am_payload(*alerts))
        with CaptureQueriesContext(connection) as queries:
            response = post_alerts(client, source, am_payload(*map(resolved, alerts)))
        assert {x["result"] for x in response.json()["alerts"]} == {"resolved"}
        return len(queries.captured_queries)

    few, many = statements("few", 5), statements("many", 100)

    if connection.vendor == "postgresql":  # SQLite caps a statement's parameters: it takes a few more
        assert many - few == 95
    else:
        assert many - few < 95 + 20
