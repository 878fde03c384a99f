"""A real Alertmanager (Debian's prometheus-alertmanager) delivering to the live test server.

The test starts Alertmanager with a webhook receiver pointing at live_server,
posts alerts to Alertmanager's own API (v2), and watches the desk: tickets
appear, Alertmanager's repeats open nothing more, and the resolution arrives
when an alert ends. The test waits on what the webhook answered (the server
runs in this process), so it reads the database only after each delivery's
transaction committed, never halfway through one.

Skipped, with the reason, when the binary is missing; under REQUIRE_SERVICES
(CI) a missing binary is a failure, as for Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from boards.models import Ticket
from intake import services
from tests.conftest import REQUIRE_SERVICES
from tests.intake.conftest import TOKEN
from tests.processes import stop, wait_for

ALERTMANAGER = Path(os.environ.get("ALERTMANAGER_PATH", "/usr/bin/prometheus-alertmanager"))
DEADLINE = 30  # seconds; a delivery normally lands within two


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path, live_server, source):
    """A running Alertmanager whose one receiver is the source's webhook on live_server; yields its API URL."""
    if not ALERTMANAGER.exists():
        message = f"the Alertmanager test needs {ALERTMANAGER} (apt-get install prometheus-alertmanager)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    config = {
        "route": {
            "receiver": "switchback",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "2s",
        },
        "receivers": [
            {
                "name": "switchback",
                "webhook_configs": [
                    {
                        "url": live_server.url + source.alertmanager_path(),
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
                    }
                ],
            }
        ],
    }
    (tmp_path / "alertmanager.yml").write_text(json.dumps(config))  # JSON is YAML
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            str(ALERTMANAGER),
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}"
    try:

        def ready():
            try:
                with urllib.request.urlopen(f"{api}/-/ready", timeout=1) as answer:
                    return answer.status == 200
            except OSError:
                assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
                return False

        wait_for(ready, "Alertmanager's start", [tmp_path / "alertmanager.log"], timeout=DEADLINE)
        yield api
    finally:
        stop(process, timeout=10)  # and so its connections to live_server closed
        log.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


class Deliveries:
    """The outcome of every alert the webhook applied, recorded as ``services.receive`` returns (committed)."""

    def __init__(self) -> None:
        self.outcomes: list[services.Outcome] = []
        self._arrived = threading.Condition()

    def record(self, outcomes: list[services.Outcome]) -> None:
        with self._arrived:
            self.outcomes.extend(outcomes)
            self._arrived.notify_all()

    def of(self, result: str) -> list[services.Outcome]:
        return [o for o in self.outcomes if o.result == result]

    def wait_for(self, what: str, done: Callable[[], bool]) -> None:
        """Wait, without polling, until a delivery makes ``done()`` true."""
        with self._arrived:
            if not self._arrived.wait_for(done, timeout=DEADLINE):
                raise AssertionError(f"Alertmanager did not deliver within {DEADLINE} s: {what}; got {self.outcomes}")


@pytest.fixture
def deliveries(monkeypatch) -> Deliveries:
    """What each delivery the webhook received did (the server runs in this process)."""
    seen = Deliveries()
    real = services.receive

    def recording(*args, **kwargs):
        outcomes = real(*args, **kwargs)
        seen.record(outcomes)
        return outcomes

    monkeypatch.setattr(services, "receive", recording)
    return seen


def _post(api: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(
        f"{api}/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


def _alert(name: str, instance: str, starts_at: datetime, ends_at: datetime | None = None) -> dict:
    alert = {
        "labels": {"alertname": name, "instance": instance, "severity": "critical", "client": "Northwind"},
        "annotations": {"summary": f"{name} on {instance}", "description": "Seen by the end-to-end test."},
        "startsAt": starts_at.isoformat(),
        "generatorURL": "http://prometheus.example/graph",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    return alert


def test_a_real_alertmanager_opens_tickets_dedups_repeats_and_resolves(alertmanager, deliveries, desk, source):
    started = datetime.now(UTC) - timedelta(minutes=1)
    disk, cpu = _alert("DiskFull", "db-1", started), _alert("CpuHot", "web-1", started)

    _post(alertmanager, [disk, cpu])

    deliveries.wait_for("a ticket for each alert", lambda: len(deliveries.of("opened")) == 2)
    titles = set(Ticket.objects.values_list("title", flat=True))
    assert titles == {"DiskFull on db-1", "CpuHot on web-1"}
    assert set(Ticket.objects.values_list("board", flat=True)) == {desk.noc.pk}
    fingerprints = {o.fingerprint for o in deliveries.of("opened")}

    # Prometheus re-sends firing alerts; Alertmanager repeats its notifications.
    _post(alertmanager, [disk, cpu])
    deliveries.wait_for(
        "a repeated notification of both alerts",
        lambda: {o.fingerprint for o in deliveries.of("repeat")} == fingerprints,
    )
    assert Ticket.objects.count() == 2

    # The disk alert ends: posted again with endsAt in the past.
    _post(alertmanager, [_alert("DiskFull", "db-1", started, ends_at=datetime.now(UTC) - timedelta(seconds=1))])

    deliveries.wait_for("the resolution", lambda: deliveries.of("resolved"))
    disk_ticket = Ticket.objects.get(title="DiskFull on db-1")
    assert [o.ticket for o in deliveries.of("resolved")] == [disk_ticket.pk]
    assert disk_ticket.resolved_at is not None
    assert disk_ticket.column.is_done
    assert disk_ticket.notes.filter(body__startswith="Resolved in Prometheus").exists()
    assert Ticket.objects.get(title="CpuHot on web-1").is_open
    assert Ticket.objects.count() == 2
    assert len(deliveries.of("opened")) == 2
