"""Two deliveries of the same new alerts at the same moment, on a real PostgreSQL: one ticket each.

Each delivery runs in its own thread with its own connection, through the real
view, so the locks and the unique constraint are PostgreSQL's.
"""

from __future__ import annotations

import pytest
from django.test import Client

from boards.models import Ticket
from intake.models import Alert
from tests.concurrency import at_once
from tests.intake.conftest import am_alert, am_payload, post_alerts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def deliver_at_once(source, payloads: list[dict]) -> list:
    deliveries = [lambda payload=payload: post_alerts(Client(), source, payload) for payload in payloads]
    return at_once(*deliveries, timeout=60)


def test_two_deliveries_of_one_new_alert_at_once_open_one_ticket_and_both_answer_200(source):
    responses = deliver_at_once(source, [am_payload(am_alert()), am_payload(am_alert())])

    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["alerts"][0]["result"] for r in responses) == ["opened", "repeat"]
    assert Ticket.objects.count() == 1
    assert Alert.objects.get().ticket == Ticket.objects.get()


def test_overlapping_deliveries_in_opposite_orders_neither_deadlock_nor_duplicate(source):
    alerts = [am_alert(f"fp{i:02d}") for i in range(20)]

    responses = deliver_at_once(source, [am_payload(*alerts), am_payload(*reversed(alerts))])

    assert [r.status_code for r in responses] == [200, 200]
    assert Ticket.objects.count() == 20
    assert Alert.objects.values("fingerprint").distinct().count() == 20
