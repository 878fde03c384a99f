"""Alertmanager's webhook: alerts open NOC tickets, repeats don't, resolutions resolve what nobody worked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from boards.models import Client, Column, Note, Ticket
from boards.services import add_note
from intake.models import Alert
from intake.views import MAX_BODY
from routing.models import Move
from routing.services import move_ticket
from tests.intake.conftest import NOW, am_alert, am_payload, post_alerts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def counts() -> tuple[int, int, int, int]:
    return Ticket.objects.count(), Move.objects.count(), Note.objects.count(), Alert.objects.count()


def resolved(alert: dict) -> dict:
    return {**alert, "status": "resolved", "endsAt": "2026-03-02T03:04:00Z"}


def test_a_firing_alert_opens_one_noc_ticket_with_title_priority_client_and_labels(client, desk, source):
    alert = am_alert(labels={"client": "Northwind"}, annotations={"description": "Only 5% left on /var."})

    response = post_alerts(client, source, am_payload(alert))

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert response.json()["alerts"] == [{"fingerprint": alert["fingerprint"], "result": "opened", "ticket": ticket.pk}]
    assert ticket.board == desk.noc
    assert ticket.column == desk.noc.entry_column()
    assert ticket.title == "Disk 95% full on db-1"
    assert ticket.priority == Ticket.Priority.P1  # severity=critical
    assert ticket.client == Client.objects.get(name="Northwind")
    assert ticket.source == Ticket.Source.MONITORING
    assert "Only 5% left on /var." in ticket.description
    assert "instance=db-1" in ticket.description
    assert "http://prometheus:9090/graph?g0.expr=disk" in ticket.description
    assert ticket.moves.get().actor_name == "the system"
    assert ticket.alert.source == source and ticket.alert.labels["instance"] == "db-1"


def test_without_a_summary_the_title_is_the_alert_name_and_labels(client, source):
    alert = am_alert(annotations={"summary": ""}, labels={"severity": "warning"})
    alert["annotations"] = {}

    post_alerts(client, source, am_payload(alert))

    ticket = Ticket.objects.get()
    assert ticket.title == "DiskFull: instance=db-1, severity=warning"
    assert ticket.priority == Ticket.Priority.P3


def test_a_severity_outside_the_map_gets_the_sources_default_priority(client, source):
    source.default_priority = Ticket.Priority.P2
    source.save()

    post_alerts(client, source, am_payload(am_alert(labels={"severity": "page-someone"})))

    assert Ticket.objects.get().priority == Ticket.Priority.P2


def test_tickets_land_in_the_column_the_source_names(client, desk, source):
    column = desk.noc.columns.exclude(pk=desk.noc.entry_column().pk).exclude(category=Column.Category.DONE).first()
    source.column = column
    source.save()

    post_alerts(client, source, am_payload(am_alert()))

    assert Ticket.objects.get().column == column


def test_the_same_delivery_twice_changes_nothing(client, source):
    payload = am_payload(am_alert("aaaa"), am_alert("bbbb"))
    post_alerts(client, source, payload)
    before = counts()

    retry = post_alerts(client, source, payload)

    assert retry.status_code == 200
    assert [a["result"] for a in retry.json()["alerts"]] == ["repeat", "repeat"]
    assert counts() == before == (2, 2, 0, 2)


def test_a_retried_resolution_changes_nothing(client, source):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    post_alerts(client, source, am_payload(resolved(alert)))
    before = counts()

    assert post_alerts(client, source, am_payload(resolved(alert))).json()["alerts"][0]["result"] == "repeat"
    assert counts() == before


def test_a_late_retry_of_the_firing_delivery_does_not_reopen_the_resolved_ticket(client, source, frozen):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    post_alerts(client, source, am_payload(resolved(alert)))
    frozen.shift(timedelta(minutes=2))
    before = counts()

    answer = post_alerts(client, source, am_payload(alert)).json()["alerts"][0]

    assert answer["result"] == "ignored"
    assert counts() == before
    assert Ticket.objects.get().resolved_at is not None


def test_a_repeat_adds_one_still_firing_note_an_hour_on_and_no_more(client, source, frozen):
    payload = am_payload(am_alert())
    post_alerts(client, source, payload)
    ticket = Ticket.objects.get()

    frozen.shift(timedelta(minutes=59))
    assert post_alerts(client, source, payload).json()["alerts"][0]["result"] == "repeat"
    assert not ticket.notes.exists()

    frozen.shift(timedelta(minutes=1))
    assert post_alerts(client, source, payload).json()["alerts"][0]["result"] == "noted"
    frozen.shift(timedelta(minutes=30))
    assert post_alerts(client, source, payload).json()["alerts"][0]["result"] == "repeat"

    assert list(ticket.notes.values_list("body", flat=True)) == ["Still firing in Prometheus."]
    assert Ticket.objects.count() == 1


def test_a_resolution_of_an_unworked_ticket_resolves_it_through_the_move_service(client, desk, source):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))

    answer = post_alerts(client, source, am_payload(resolved(alert))).json()["alerts"][0]

    ticket = Ticket.objects.get()
    assert answer["result"] == "resolved"
    assert ticket.resolved_at == NOW
    assert ticket.column == desk.noc.first_column(Column.Category.DONE)
    move = ticket.moves.order_by("-pk").first()
    assert move.to_column.is_done and move.actor is None
    assert "resolved before anyone worked" in move.note
    assert ticket.notes.get().body.startswith("Resolved in Prometheus (ended 2026-03-02 03:04 UTC)")
    assert not ticket.alert.resolved_while_worked


@pytest.mark.parametrize("how", ["assigned", "technician note", "moved out of new"])
def test_a_resolution_of_a_worked_ticket_leaves_it_open_and_marked(client, desk, source, tier2, how):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    ticket = Ticket.objects.get()
    if how == "assigned":
        Ticket.objects.filter(pk=ticket.pk).update(assignee=tier2)
    elif how == "technician note":
        add_note(ticket, author=tier2, body="Looking at the volume now.")
    else:
        working = desk.noc.columns.filter(category=Column.Category.ACTIVE).first()
        move_ticket(ticket.pk, actor=tier2, expected_version=ticket.version, to_column=working)

    answer = post_alerts(client, source, am_payload(resolved(alert))).json()["alerts"][0]

    ticket.refresh_from_db()
    assert answer["result"] == "held"
    assert ticket.is_open
    assert ticket.alert.resolved_while_worked
    assert ticket.notes.filter(author=None, body__startswith="Resolved in Prometheus").exists()


def test_the_held_marker_shows_on_the_card_and_the_drawer_shows_the_source_and_labels(client, desk, source, tier2):
    alert = am_alert(labels={"team": "<b>storage</b>"})
    post_alerts(client, source, am_payload(alert))
    ticket = Ticket.objects.get()
    Ticket.objects.filter(pk=ticket.pk).update(assignee=tier2)
    post_alerts(client, source, am_payload(resolved(alert)))
    client.force_login(tier2)

    board = client.get(reverse("board", args=["noc"])).text
    drawer = client.get(reverse("ticket", args=[ticket.pk])).text

    assert 'class="alert-source"' in board and "Prometheus" in board
    assert "Resolved at source" in board
    assert "Prometheus" in drawer and "instance" in drawer and "db-1" in drawer
    assert "&lt;b&gt;storage&lt;/b&gt;" in drawer and "<b>storage</b>" not in drawer


def test_flapping_within_the_window_reopens_the_same_ticket(client, desk, source, frozen):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    post_alerts(client, source, am_payload(resolved(alert)))
    frozen.shift(timedelta(minutes=10))

    again = am_alert(starts_at="2026-03-02T03:09:00Z")
    answer = post_alerts(client, source, am_payload(again)).json()["alerts"][0]

    ticket = Ticket.objects.get()
    assert answer == {"fingerprint": again["fingerprint"], "result": "reopened", "ticket": ticket.pk}
    assert ticket.is_open and ticket.column == desk.noc.entry_column()
    assert "flapping" in ticket.moves.order_by("-pk").first().note
    assert ticket.alert.reopened == 1 and ticket.alert.status == Alert.Status.FIRING

    # And it can resolve again, through the move service as before.
    frozen.shift(timedelta(minutes=1))
    post_alerts(client, source, am_payload({**resolved(again), "endsAt": "2026-03-02T03:11:00Z"}))
    ticket.refresh_from_db()
    assert not ticket.is_open


def test_firing_again_after_the_window_opens_a_new_ticket_and_keeps_the_old_one(client, source, frozen):
    alert = am_alert()
    post_alerts(client, source, am_payload(alert))
    post_alerts(client, source, am_payload(resolved(alert)))
    old = Ticket.objects.get()
    frozen.shift(timedelta(minutes=31))

    again = am_alert(starts_at="2026-03-02T03:30:00Z")
    answer = post_alerts(client, source, am_payload(again)).json()["alerts"][0]

    assert answer["result"] == "opened" and answer["ticket"] != old.pk
    old.refresh_from_db()
    assert not old.is_open and old.alert.current is False
    assert Alert.objects.current().get().ticket_id == answer["ticket"]


def test_a_resolution_for_an_alert_never_seen_is_ignored(client, source):
    response = post_alerts(client, source, am_payload(resolved(am_alert())))

    assert response.status_code == 200
    assert response.json()["alerts"][0]["result"] == "ignored"
    assert counts() == (0, 0, 0, 0)


def test_one_alert_twice_in_one_delivery_opens_one_ticket(client, source):
    response = post_alerts(client, source, am_payload(am_alert(), am_alert()))

    assert [a["result"] for a in response.json()["alerts"]] == ["opened", "repeat"]
    assert Ticket.objects.count() == 1


def test_a_failing_alert_writes_none_of_its_delivery(client, source, monkeypatch):
    """A delivery is one transaction: the answer is an error and Alertmanager retries all of it."""
    from intake import services

    real = services._Delivery._open
    calls = []

    def open_then_fail(self, alert):
        calls.append(alert.fingerprint)
        if len(calls) == 2:
            raise RuntimeError("the disk under the database filled up")
        return real(self, alert)

    monkeypatch.setattr(services._Delivery, "_open", open_then_fail)
    client.raise_request_exception = False

    response = post_alerts(client, source, am_payload(am_alert("aaaa"), am_alert("bbbb")))

    assert response.status_code == 500
    assert counts() == (0, 0, 0, 0)


def test_the_concurrent_insert_is_refused_by_the_database_and_handled_as_a_repeat(client, source, monkeypatch):
    """The race the unique constraint settles: our lookup missed a row another delivery just wrote."""
    from intake import services

    post_alerts(client, source, am_payload(am_alert()))
    before = counts()
    monkeypatch.setattr(services._Delivery, "load", lambda self, fingerprints: None)  # sees nothing

    response = post_alerts(client, source, am_payload(am_alert()))

    assert response.status_code == 200
    assert response.json()["alerts"][0]["result"] == "repeat"
    assert counts() == before


def test_an_inactive_source_is_not_found(client, source):
    source.active = False
    source.save()

    assert post_alerts(client, source, am_payload(am_alert())).status_code == 404
    assert counts() == (0, 0, 0, 0)


def test_a_payload_just_under_1_mb_is_read(client, source):
    """The limit is on the body, not the alerts: 150 alerts with long descriptions still fit."""
    alerts = [am_alert(f"fp{i}", annotations={"description": "d" * 6000}) for i in range(150)]
    body = json.dumps(am_payload(*alerts))
    assert len(body) < MAX_BODY

    response = post_alerts(client, source, body)

    assert response.status_code == 200
    assert Ticket.objects.count() == 150
