"""Home: the boards I work with open and overdue counts, and my tickets across boards."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Ticket, Watch
from boards.views import HOME_PAGE_SIZE
from tests.boards.html import find, find_all

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_home_lists_my_boards_with_open_and_overdue_counts(client, desk, tier1, ticket_factory):
    with time_machine.travel(NOW, tick=False):
        ticket_factory(title="Old one")  # deadline NOW + 30 min
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        ticket_factory(title="Fresh one")
        ticket_factory(title="Closed one", column="Resolved")
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(minutes=40), tick=False):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    tile = next(b for b in response.context["boards"] if b.slug == "triage")
    assert (tile.open_count, tile.overdue_count) == (2, 1)
    # Tess works Triage only: the others are offered read-only, not as her boards.
    assert [b.slug for b in response.context["boards"]] == ["triage"]
    assert "1</strong> overdue" in response.content.decode()


def test_home_lists_my_open_tickets_across_boards(client, desk, tier2, ticket_factory):
    mine_noc = ticket_factory(board=desk.noc, title="Patch the core switch", assignee=tier2)
    mine_support = ticket_factory(board=desk.support, title="Onsite printer", assignee=tier2, priority=1)
    ticket_factory(board=desk.support, title="Somebody else's")
    ticket_factory(board=desk.support, title="Mine but done", assignee=tier2, column="Resolved")
    client.force_login(tier2)

    response = client.get(reverse("home"))

    assert list(response.context["my_tickets"]) == [mine_support, mine_noc]
    body = response.content.decode()
    assert "Patch the core switch" in body and "Somebody else&#x27;s" not in body and "Mine but done" not in body


def test_home_escapes_ticket_titles(client, desk, tier1, ticket_factory):
    ticket_factory(title="<script>alert(1)</script>", assignee=tier1)
    client.force_login(tier1)

    body = client.get(reverse("home")).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_home_needs_login(client, desk):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("method", ["post", "delete"])
def test_home_refuses_other_methods(client, tier1, method):
    client.force_login(tier1)
    assert getattr(client, method)(reverse("home")).status_code == 405


def test_manager_sees_every_board(client, desk, manager):
    client.force_login(manager)
    response = client.get(reverse("home"))
    assert {b.slug for b in response.context["boards"]} == {"noc", "triage", "support"}
    assert not Ticket.objects.exists()


def test_home_lists_are_pages_with_a_count_and_links_to_the_rest(client, desk, tier1, manager, ticket_factory):
    mine = [ticket_factory(title=f"Mine {n}", assignee=tier1) for n in range(HOME_PAGE_SIZE + 3)]
    for n in range(2):
        followed = ticket_factory(board=desk.support, title=f"Followed {n}")
        Watch.objects.create(ticket=followed, user=tier1)
    client.force_login(tier1)

    first = client.get(reverse("home")).content.decode()
    second = client.get(reverse("home"), {"mine_page": 2}).content.decode()

    assert first.count('id="my-ticket-') == HOME_PAGE_SIZE
    pager = find(first, "nav", class_="list-pager")
    assert pager["_text"] == f"Showing 1–{HOME_PAGE_SIZE} of {HOME_PAGE_SIZE + 3} · Next {HOME_PAGE_SIZE} →"
    assert find(first, "a", href="?mine_page=2")
    assert second.count('id="my-ticket-') == 3
    shown = {
        int(row["id"].removeprefix("my-ticket-"))
        for row in find_all(first + second, "tr")
        if row.get("id", "").startswith("my-ticket-")
    }
    assert shown == {t.pk for t in mine}
    # Two followed tickets: one page, no pager for them.
    assert first.count('id="followed-ticket-') == 2 and len(find_all(first, "nav", class_="list-pager")) == 1
    row = find(first, "tr", id=f"my-ticket-{mine[0].pk}")
    assert row and find(first, "a", href=f"/tickets/{mine[0].pk}/")["hx-get"] == f"/tickets/{mine[0].pk}/"


def test_home_takes_the_same_queries_for_5_and_60_tickets(
    client, desk, tier1, ticket_factory, django_assert_max_num_queries
):
    for n in range(5):
        ticket_factory(title=f"Few {n}", assignee=tier1)
    client.force_login(tier1)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    for n in range(55):
        ticket_factory(title=f"Many {n}", assignee=tier1)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("home"))
    assert len(many) == len(few)
