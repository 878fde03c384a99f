"""The board page costs the same number of queries however many cards it shows,
and closed tickets older than the done window never reach it."""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Client
from tests.factories import make_ticket, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COLUMNS = ["New", "In progress", "Waiting on customer", "Resolved"]


def _fill(desk, count: int, people, clients, *, start: int = 0) -> None:
    """Cards of every kind: each column, priority, tier, with and without assignee and client."""
    for i in range(start, start + count):
        make_ticket(
            board=desk.triage,
            column=COLUMNS[i % len(COLUMNS)],
            title=f"Card {i}",
            priority=1 + i % 4,
            tier=1 + i % 2,
            assignee=people[i % len(people)],
            client=clients[i % len(clients)],
        )


def _board_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("board", args=["triage"]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def _cards(body: str) -> int:
    return body.count('<article class="card')


def test_board_runs_the_same_queries_for_10_and_200_cards(client, desk, tier1):
    other = make_user("cole", boards=[desk.triage], first_name="Cole")
    people = [tier1, other, None]
    clients = [Client.objects.create(name="Acme"), Client.objects.create(name="Birch"), None]
    client.force_login(tier1)

    with time_machine.travel(NOW, tick=False):
        _fill(desk, 10, people, clients)
        few, body = _board_queries(client)
        assert _cards(body) == 10
        _fill(desk, 190, people, clients, start=10)
        many, body = _board_queries(client)
        assert _cards(body) == 30 + 150  # the done column shows at most its 30 latest

    assert few == many, f"{few} queries for 10 cards, {many} for 200"


def test_board_changes_runs_the_same_queries_for_10_and_200_cards(client, desk, tier1):
    people = [tier1, None]
    clients = [Client.objects.create(name="Acme"), None]
    client.force_login(tier1)
    url = reverse("board_changes", args=["triage"])
    headers = {"HX-Request": "true"}

    with time_machine.travel(NOW, tick=False):
        _fill(desk, 10, people, clients)
        with CaptureQueriesContext(connection) as few:
            assert client.get(url, {"since": -1}, headers=headers).status_code == 200
        _fill(desk, 190, people, clients, start=10)
        with CaptureQueriesContext(connection) as many:
            assert client.get(url, {"since": -1}, headers=headers).status_code == 200

    assert len(few) == len(many)


def test_page_size_does_not_grow_with_old_closed_tickets(client, desk, tier1, ticket_factory):
    client.force_login(tier1)
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        for i in range(5):
            ticket_factory(title=f"Open {i}")
        ticket_factory(title="Closed yesterday", column="Resolved")

    with time_machine.travel(NOW, tick=False):
        queries_before, before = _board_queries(client)
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        for i in range(60):
            ticket_factory(title=f"Closed long ago {i}", column="Resolved")
    with time_machine.travel(NOW, tick=False):
        queries_after, after = _board_queries(client)

    def normalise(body: str) -> str:
        # The board's revision moved on; everything else must be byte for byte the same.
        body = re.sub(r'(data-revision="|since=)\d+', r"\1N", body)
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)

    assert "Closed long ago" not in after
    assert len(normalise(after)) == len(normalise(before))
    assert queries_after == queries_before
