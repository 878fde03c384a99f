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
