"""An alert source on the seeded desk, and Alertmanager payloads built the way Alertmanager builds them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from intake.models import AlertSource

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # the middle of the night, when monitoring calls
TOKEN = "test-token-that-is-long-enough-0123456789"
ZERO = "0001-01-01T00:00:00Z"


@pytest.fixture
def source(desk) -> AlertSource:
    source = AlertSource(name="Prometheus", board=desk.noc, flap_window_minutes=30, still_firing_minutes=60)
    source.set_token(TOKEN)
    source.save()
    return source


def am_alert(
    fingerprint: str = "a1b2c3d4e5f60708",
    *,
    status: str = "firing",
    labels: dict | None = None,
    annotations: dict | None = None,
    starts_at: str = "2026-03-02T02:58:00Z",
    ends_at: str = ZERO,
) -> dict:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical", **(labels or {})},
        "annotations": {"summary": "Disk 95% full on db-1", **(annotations or {})},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": fingerprint,
    }


def am_payload(*alerts: dict) -> dict:
    firing = any(isinstance(a, dict) and a.get("status") == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "switchback",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def post_alerts(client, source, payload, *, token: str = TOKEN):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(source.alertmanager_path(), body, content_type="application/json", headers=headers)


def post_event(client, source, event: dict):
    return client.post(source.events_path(), json.dumps(event), content_type="application/json")
