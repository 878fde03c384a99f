"""The generic events endpoint (PagerDuty Events API v2): trigger, acknowledge, resolve by dedup_key."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from boards.models import Client, Note, Ticket
from routing.models import Move
from tests.intake.conftest import NOW, TOKEN, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def trigger(**overrides) -> dict:
    event = {
        "routing_key": TOKEN,
        "event_action": "trigger",
        "dedup_key": "uptime-kuma-42",
        "payload": {
            "summary": "Website www.example.com is down",
            "severity": "error",
            "source": "uptime-kuma",
            "component": "www",
            "custom_details": {"client": "Contoso", "checks": 3},
        },
        "links": [{"href": "https://status.example.com/42", "text": "Monitor"}],
    }
    return {**event, **overrides}


def action(name: str, key: str = "uptime-kuma-42") -> dict:
    return {"routing_key": TOKEN, "event_action": name, "dedup_key": key}


def test_a_trigger_opens_a_ticket_and_answers_like_pagerduty(client, desk, source):
    response = post_event(client, source, trigger())

    assert response.status_code == 202
    ticket = Ticket.objects.get()
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "uptime-kuma-42",
        "fingerprint": "uptime-kuma-42",
        "result": "opened",
        "ticket": ticket.pk,
    }
    assert ticket.board == desk.noc and ticket.title == "Website www.example.com is down"
    assert ticket.priority == Ticket.Priority.P2  # severity=error
    assert ticket.client == Client.objects.get(name="Contoso")
    assert "https://status.example.com/42" in ticket.description and "checks: 3" in ticket.description
    assert ticket.alert.labels == {
        "source": "uptime-kuma",
        "severity": "error",
        "component": "www",
        "client": "Contoso",
    }


def test_a_trigger_without_a_dedup_key_gets_one_to_resolve_with(client, source):
    event = trigger()
    del event["dedup_key"]

    key = post_event(client, source, event).json()["dedup_key"]
    post_event(client, source, action("resolve", key))

    assert len(key) == 32 and not Ticket.objects.get().is_open


def test_a_repeated_trigger_opens_nothing_more(client, source):
    post_event(client, source, trigger())
    before = Ticket.objects.count(), Move.objects.count(), Note.objects.count()

    assert post_event(client, source, trigger()).json()["result"] == "repeat"
    assert (Ticket.objects.count(), Move.objects.count(), Note.objects.count()) == before


def test_acknowledge_adds_one_note_and_assigns_nobody(client, source):
    post_event(client, source, trigger())

    first = post_event(client, source, action("acknowledge"))
    second = post_event(client, source, action("acknowledge"))

    ticket = Ticket.objects.get()
    assert (first.status_code, first.json()["result"], second.json()["result"]) == (202, "noted", "repeat")
    assert ticket.assignee is None
    assert list(ticket.notes.values_list("body", "author")) == [("Acknowledged in Prometheus.", None)]


def test_resolve_resolves_an_unworked_ticket_and_a_new_trigger_soon_after_reopens_it(client, source, frozen):
    post_event(client, source, trigger())
    assert post_event(client, source, action("resolve")).json()["result"] == "resolved"
    frozen.shift(timedelta(minutes=5))

    assert post_event(client, source, trigger()).json()["result"] == "reopened"
    assert Ticket.objects.get().is_open


def test_acknowledge_or_resolve_of_an_unknown_key_is_ignored(client, source):
    for name in ("acknowledge", "resolve"):
        response = post_event(client, source, action(name, "never-sent"))
        assert (response.status_code, response.json()["result"]) == (202, "ignored")
    assert not Ticket.objects.exists()


def test_an_unknown_source_is_404_and_a_wrong_routing_key_401(client, source):
    missing = client.post("/intake/nope/events/", "{}", content_type="application/json")
    wrong = post_event(client, source, trigger(routing_key="not-the-token"))

    assert (missing.status_code, wrong.status_code) == (404, 401)
    assert wrong.json()["error"] == 'Wrong "routing_key" for this source.'
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"routing_key": None}, '"routing_key" must be a non-empty string'),
        ({"event_action": "escalate"}, '"event_action" must be'),
        ({"payload": "down"}, '"payload" must be an object'),
        ({"payload": {"summary": "x", "severity": "fatal", "source": "y"}}, "payload.severity must be"),
        ({"payload": {"severity": "info", "source": "y"}}, "payload.summary must be a non-empty string"),
        ({"payload": {"summary": "x", "severity": "info"}}, "payload.source must be a non-empty string"),
        ({"dedup_key": 42}, '"dedup_key" must be a'),
    ],
)
def test_a_malformed_event_is_400_saying_what_is_wrong(client, source, change, says):
    event = {k: v for k, v in trigger(**change).items() if v is not None}

    response = post_event(client, source, event)

    assert response.status_code == 400
    assert says in response.json()["error"]
    assert not Ticket.objects.exists()


def test_a_new_trigger_with_an_old_timestamp_still_reopens_a_flapping_ticket(client, source, frozen):
    """Only Alertmanager's startsAt marks a late retry; a sender's own clock may lag ours."""
    post_event(client, source, trigger())
    post_event(client, source, action("resolve"))
    frozen.shift(timedelta(minutes=5))
    event = trigger()
    event["payload"] = {**event["payload"], "timestamp": "2026-03-02T02:00:00Z"}

    assert post_event(client, source, event).json()["result"] == "reopened"


def test_a_timestamp_that_is_not_a_time_is_400(client, source):
    event = trigger()
    event["payload"] = {**event["payload"], "timestamp": "noon"}

    response = post_event(client, source, event)

    assert response.status_code == 400 and "payload.timestamp" in response.json()["error"]
