"""The demo's alert source, and the curl that fires a sample alert at it (``manage.py load_demo`` prints it).

Its token is derived from SECRET_KEY rather than random, so running the demo
again finds the same source and can print the same working command, while the
database still holds only the token's hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shlex

from django.conf import settings

from boards.models import Board

from .models import AlertSource

DEMO_SOURCE = "Demo Prometheus"
DEMO_CLIENT = "Northwind Logistics"


def demo_token() -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"switchback demo alert source", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def ensure_demo_source(noc: Board) -> AlertSource:
    """The demo alert source on NOC; created once, left as it is afterwards."""
    source = AlertSource.objects.filter(name=DEMO_SOURCE).first()
    if source is None:
        source = AlertSource(name=DEMO_SOURCE, board=noc)
        source.set_token(demo_token())
        source.save()
    return source


def sample_alert(status: str = "firing") -> dict:
    alert = {
        "status": status,
        "labels": {
            "alertname": "DiskAlmostFull",
            "instance": "fileserver-01",
            "severity": "critical",
            "client": DEMO_CLIENT,
        },
        "annotations": {
            "summary": "Disk almost full on fileserver-01",
            "description": "/srv is 96% full and growing 2% an hour.",
        },
        "generatorURL": "http://prometheus.example/graph?g0.expr=disk_used_ratio",
        "fingerprint": "demo0disk0fs01",
    }
    return {"version": "4", "status": status, "receiver": "switchback", "alerts": [alert]}


def curl_command(base_url: str) -> str | None:
    """A ready-to-run curl firing the sample alert, or None without a usable demo source."""
    source = AlertSource.objects.filter(name=DEMO_SOURCE, active=True).first()
    if source is None or not source.token_matches(demo_token()):
        return None
    url = base_url.rstrip("/") + source.alertmanager_path()
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        f"    -H {shlex.quote('Authorization: Bearer ' + demo_token())} \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f"    -d {shlex.quote(json.dumps(sample_alert(), separators=(',', ':')))}"
    )
