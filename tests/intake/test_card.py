"""Tickets from alerts on the board: the source on the card, at no extra query per card."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_ticket
from tests.intake.conftest import am_alert, am_payload, post_alerts

pytestmark = pytest.mark.django_db


def _board(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("board", args=["noc"])).text
    return html, len(queries)


def test_alert_cards_name_their_source_escaped_and_hand_made_cards_do_not(client, desk, source, tier2):
    source.name = '<img src=x onerror="alert(1)">'
    source.save()
    post_alerts(client, source, am_payload(am_alert()))
    make_ticket(board=desk.noc, title="Typed in by hand")
    client.force_login(tier2)

    html, _ = _board(client)

    assert html.count('class="alert-source"') == 1
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<img src=x" not in html


def test_the_board_takes_the_same_queries_with_one_alert_card_or_twenty(client, desk, source, tier2):
    post_alerts(client, source, am_payload(am_alert("fp-0")))
    client.force_login(tier2)
    _, one = _board(client)

    post_alerts(client, source, am_payload(*[am_alert(f"fp-{i}") for i in range(1, 20)]))
    html, twenty = _board(client)

    assert html.count('class="alert-source"') == 20
    assert twenty == one
