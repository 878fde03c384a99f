"""A real Alertmanager (Debian's prometheus-alertmanager) delivering to the live test server.

The test starts Alertmanager with a webhook receiver pointing at live_server,
posts alerts to Alertmanager's own API (v2), and watches the desk: tickets
appear, Alertmanager's repeats open nothing more, and the resolution arrives
when an alert ends. Waits poll the database against a deadline.

Skipped, with the reason, when the binary is missing; under REQUIRE_SERVICES
(CI) a missing binary is a failure, as for Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from boards.models import Ticket
from intake import services
from tests.conftest import REQUIRE_SERVICES
from tests.intake.conftest import TOKEN

ALERTMANAGER = Path(os.environ.get("ALERTMANAGER_PATH", "/usr/bin/prometheus-alertmanager"))
DEADLINE = 30  # seconds; a delivery normally lands within two


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(what: str, check, timeout: float = DEADLINE):
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"Alertmanager did not deliver within {timeout} s: {what}")


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

        _wait_for("Alertmanager to start", ready)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.fixture
def deliveries(monkeypatch) -> list[list[services.Outcome]]:
    """What each delivery the webhook received did (the server runs in this process)."""
    seen: list[list[services.Outcome]] = []
    real = services.receive

    def recording(*args, **kwargs):
        outcomes = real(*args, **kwargs)
        seen.append(outcomes)
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

    _wait_for("two tickets", lambda: Ticket.objects.count() == 2)
    titles = set(Ticket.objects.values_list("title", flat=True))
    assert titles == {"DiskFull on db-1", "CpuHot on web-1"}
    assert set(Ticket.objects.values_list("board", flat=True)) == {desk.noc.pk}

    # Prometheus re-sends firing alerts; Alertmanager repeats its notifications.
    _post(alertmanager, [disk, cpu])
    _wait_for(
        "a repeated notification of both alerts",
        lambda: sum(o.result == "repeat" for delivery in deliveries for o in delivery) >= 2,
    )
    assert Ticket.objects.count() == 2

    # The disk alert ends: posted again with endsAt in the past.
    _post(alertmanager, [_alert("DiskFull", "db-1", started, ends_at=datetime.now(UTC) - timedelta(seconds=1))])

    disk_ticket = Ticket.objects.get(title="DiskFull on db-1")
    _wait_for("the resolution", lambda: Ticket.objects.get(pk=disk_ticket.pk).resolved_at is not None)
    disk_ticket.refresh_from_db()
    assert disk_ticket.column.is_done
    assert disk_ticket.notes.filter(body__startswith="Resolved in Prometheus").exists()
    assert Ticket.objects.get(title="CpuHot on web-1").is_open
    assert Ticket.objects.count() == 2
    assert sum(o.result == "opened" for delivery in deliveries for o in delivery) == 2
