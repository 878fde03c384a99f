"""The demo's alert source: made once, and the curl load_demo prints really opens a NOC ticket."""

from __future__ import annotations

import shlex
from io import StringIO

import pytest
from django.core.management import call_command

from boards.models import Ticket
from intake.demo import DEMO_SOURCE
from intake.models import AlertSource

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, history_days=0)
    return out.getvalue()


def _curl_args(out: str) -> list[str]:
    start = out.index("curl -X POST")
    end = out.index("\n\n", start)
    return shlex.split(out[start:end].replace("\\\n", " "))


def test_load_demo_makes_one_alert_source_and_prints_the_same_curl_each_time(db):
    first, second = _load(), _load()

    assert AlertSource.objects.filter(name=DEMO_SOURCE).count() == 1
    assert _curl_args(first) == _curl_args(second)


def test_the_printed_curl_fires_an_alert_that_opens_a_noc_ticket_once(client, db):
    args = _curl_args(_load())
    url = args[args.index("-X") + 2]
    headers = [args[i + 1] for i, a in enumerate(args) if a == "-H"]
    body = args[args.index("-d") + 1]
    authorization = next(h.split(": ", 1)[1] for h in headers if h.startswith("Authorization"))
    path = url.removeprefix("http://127.0.0.1:8000")
    before = Ticket.objects.count()

    for _ in range(2):
        response = client.post(path, body, content_type="application/json", headers={"Authorization": authorization})
        assert response.status_code == 200

    ticket = Ticket.objects.order_by("-pk").first()
    assert Ticket.objects.count() == before + 1
    assert ticket.board.slug == "noc" and ticket.title == "Disk almost full on fileserver-01"
    assert ticket.client.name == "Northwind Logistics"
