"""The top bar's search across every board: number, title, requester, client, note text."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards import search
from boards.models import Client, Note, Ticket, Watch
from tests.boards.html import find, find_all
from tests.factories import make_user


def _found(client, q: str) -> str:
    response = client.get(reverse("search"), {"q": q})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def cast(desk, tier1, ticket_factory):
    acme = Client.objects.create(name="Acme Dental")
    printer = ticket_factory(title="Printer jams on every page", client=acme)
    vpn = ticket_factory(title="VPN drops hourly")
    Ticket.objects.filter(pk=vpn.pk).update(requester_name="Quentin Blake")
    noted = ticket_factory(title="Slow laptop")
    Note.objects.create(ticket=noted, author=tier1, body="Found a failing SSD in the laptop")
    hidden = ticket_factory(board=desk.support, tier=2, title="Printer in the server room")
    return {"printer": printer, "vpn": vpn, "noted": noted, "hidden": hidden}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("printer", {"printer"}),
        ("print", {"printer"}),  # a prefix matches
        ("PRINTER jams", {"printer"}),
        ("quentin", {"vpn"}),
        ("acme", {"printer"}),
        ("ssd", {"noted"}),
        ("printer vpn", set()),  # every word must match
    ],
)
def test_search_finds_by_title_requester_client_and_note_text(client, tier1, cast, q, expected):
    client.force_login(tier1)
    body = _found(client, q)
    assert {name for name, t in cast.items() if f'id="result-{t.pk}"' in body} == expected


def test_search_by_number_with_or_without_hash(client, tier1, cast):
    client.force_login(tier1)
    for q in (str(cast["vpn"].pk), f"#{cast['vpn'].pk}"):
        body = _found(client, q)
        assert f'id="result-{cast["vpn"].pk}"' in body
        assert f'href="/tickets/{cast["vpn"].pk}/"' in body


def test_search_lists_only_tickets_the_user_may_open(client, desk, tier1, cast):
    client.force_login(tier1)
    assert f"result-{cast['hidden'].pk}" not in _found(client, "printer")
    assert f"result-{cast['hidden'].pk}" not in _found(client, str(cast["hidden"].pk))
    Watch.objects.create(ticket=cast["hidden"], user=tier1)
    assert f"result-{cast['hidden'].pk}" in _found(client, "printer")


def test_search_escapes_and_survives_odd_input(client, tier1, cast):
    client.force_login(tier1)
    for q in ("<script>alert(1)</script>", "a:* | !b", "'; drop table", "&&&", "#", "x" * 500, "é"):
        body = _found(client, q)
        assert "<script>alert(1)" not in body


def test_search_is_bounded_and_takes_a_fixed_number_of_queries(client, desk, tier1, ticket_factory):
    for i in range(search.LIMIT + 5):
        ticket_factory(title=f"Printer {i}")
    client.force_login(tier1)
    with CaptureQueriesContext(connection) as queries:
        body = _found(client, "printer")
    assert body.count('id="result-') == search.LIMIT
    assert len(queries) < 15


def test_search_pages_through_every_match_newest_first(client, desk, tier1, ticket_factory):
    tickets = [ticket_factory(title=f"Printer {i}") for i in range(search.LIMIT + 5)]
    client.force_login(tier1)

    first = client.get(reverse("search"), {"q": "printer"}).content.decode()
    second = client.get(reverse("search"), {"q": "printer", "page": 2}).content.decode()

    def shown(body):
        return [int(row["id"].removeprefix("result-")) for row in find_all(body, "tr") if row.get("id")]

    newest_first = [t.pk for t in reversed(tickets)]
    assert shown(first) == newest_first[: search.LIMIT] and shown(second) == newest_first[search.LIMIT :]
    assert find(first, "p", class_="result-count")["_text"].startswith(f"Tickets 1–{search.LIMIT}, newest first")
    assert find(first, "a", rel="next")["href"] == "?q=printer&page=2" and not find(first, "a", rel="prev")
    assert find(second, "a", rel="prev")["href"] == "?q=printer&page=1" and not find(second, "a", rel="next")
    assert client.get(reverse("search"), {"q": "printer", "page": "x"}).status_code == 200  # page 1


def test_search_needs_login_and_a_get(client, tier1):
    assert client.get(reverse("search"), {"q": "x"}).status_code == 302
    client.force_login(tier1)
    assert client.post(reverse("search"), {"q": "x"}).status_code == 405


@pytest.mark.postgres
def test_postgres_search_uses_the_full_text_indexes(desk, tier1):
    make_user("zed")
    query = search.Query.parse("printer jam")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = (
            search.Ticket.objects.filter(search._fulltext(search.TICKET_VECTOR, query.tsquery())).values("pk").query
        ).sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        ticket_plan = "\n".join(row[0] for row in cursor.fetchall())
        sql, params = (
            Note.objects.filter(search._fulltext(search.NOTE_VECTOR, query.tsquery())).values("pk").query
        ).sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        note_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "ticket_search_idx" in ticket_plan, ticket_plan
    assert "note_search_idx" in note_plan, note_plan
