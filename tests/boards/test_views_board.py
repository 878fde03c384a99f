"""The board page: tabs, columns, cards, filters in the URL, the done window, the live poll."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from boards import services as board_services
from boards.cards import CHANGE_LIMIT, CriteriaIndex
from boards.models import Board, Client, Ticket
from boards.views import REDRAW_EVERY
from routing import services
from routing.models import Direction
from tests.boards.html import find, find_all

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


def _card_ids(response, column_name: str) -> list[int]:
    """Ticket numbers of the cards in one column, top to bottom."""
    for column in response.context["columns"]:
        if column.column.name == column_name:
            return [card.pk for card in column.cards]
    raise AssertionError(f"no column {column_name}")


def _card_html(body: str, pk: int) -> str:
    match = re.search(rf'<article class="card[^"]*" id="ticket-{pk}".*?</article>', body, re.S)
    assert match, f"card #{pk} not rendered"
    return match.group(0)


def test_board_shows_tabs_columns_and_cards(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Printer jam", priority=2, assignee=tier1)
    client.force_login(tier1)

    response = client.get(reverse("board", args=["triage"]))

    assert response.status_code == 200
    body = response.content.decode()
    assert find(body, "nav", class_="board-tabs")
    for slug in ("noc", "triage", "support"):
        assert find(body, "a", data_board_slug=slug)["href"] == f"/boards/{slug}/"
    revision = Board.objects.get(slug="triage").revision
    assert find(body, "div", id="board-columns")["data-revision"] == str(revision)
    assert [c.column.name for c in response.context["columns"]] == [
        "New",
        "In progress",
        "Waiting on customer",
        "Resolved",
    ]
    assert 'data-column-name="In progress"' in body and "<h2 " in body
    card = _card_html(body, ticket.pk)
    article = find(card, "article", id=f"ticket-{ticket.pk}")
    assert (article["data-ticket-id"], article["data-version"]) == (str(ticket.pk), str(ticket.version))
    assert (article["draggable"], article["tabindex"]) == ("true", "0")
    assert find(card, "a", class_="card-title")["href"] == f"/tickets/{ticket.pk}/"
    assert f"#{ticket.pk}" in card and "P2" in card and "T1" in card and "Tess Tier-One" in card
    assert find(card, "span", class_="countdown")["class"] == "countdown ok"
    assert find(card, "form", class_="card-move")["method"] == "post" and find(card, "select", name="column")
    assert ">Move<" in card
    assert ">Escalate<" in card and ">De-escalate<" not in card  # Triage has no de-escalate criterion


def test_cards_are_ordered_by_priority_then_deadline(client, desk, tier1, ticket_factory):
    with time_machine.travel(NOW, tick=False):
        older_p3 = ticket_factory(priority=3)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        newer_p3 = ticket_factory(priority=3)
        p1 = ticket_factory(priority=1)
        waiting = ticket_factory(priority=3, column="Waiting on customer")
        waiting_p1 = ticket_factory(priority=1, column="Waiting on customer")
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        response = client.get(reverse("board", args=["triage"]))

    assert _card_ids(response, "New") == [p1.pk, older_p3.pk, newer_p3.pk]
    assert _card_ids(response, "Waiting on customer") == [waiting_p1.pk, waiting.pk]


@pytest.mark.parametrize(
    ("minutes", "state", "text"),
    [(10, "ok", "20 min left"), (25, "warning", "5 min left"), (31, "overdue", "Overdue by 1 min")],
)
def test_countdown_is_coloured_and_labelled_by_time_left(client, desk, tier1, ticket_factory, minutes, state, text):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
        card = _card_html(client.get(reverse("board", args=["triage"])).content.decode(), ticket.pk)

    deadline = (NOW + timedelta(minutes=30)).isoformat()
    warn_from = (ticket.deadline_at - timedelta(minutes=6)).isoformat()
    countdown = find(card, "span", class_="countdown")
    assert (countdown["class"], countdown["data-deadline"], countdown["data-warn-from"]) == (
        f"countdown {state}",
        deadline,
        warn_from,
    )
    assert text in card


def test_waiting_card_says_its_clock_is_paused(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="Waiting on customer")
    client.force_login(tier1)
    card = _card_html(client.get(reverse("board", args=["triage"])).content.decode(), ticket.pk)
    assert "Paused" in card and "data-deadline" not in card


def test_filters_live_in_the_url(client, desk, tier1, tier2, ticket_factory):
    mine = ticket_factory(title="Mine", assignee=tier1, priority=2)
    unassigned = ticket_factory(title="Nobody's", priority=1)
    other = ticket_factory(title="Sam's VPN", assignee=tier2, priority=3)
    client.force_login(tier1)
    url = reverse("board", args=["triage"])

    def shown(**query):
        response = client.get(url, query)
        return {card.pk for column in response.context["columns"] for card in column.cards}

    assert shown() == {mine.pk, unassigned.pk, other.pk}
    assert shown(mine=1) == {mine.pk}
    assert shown(unassigned=1) == {unassigned.pk}
    assert shown(mine=1, unassigned=1) == {mine.pk, unassigned.pk}
    assert shown(priority=1) == {unassigned.pk}
    assert shown(q="vpn") == {other.pk}
    assert shown(q=f"#{mine.pk}") == {mine.pk}
    assert shown(priority="nonsense") == {mine.pk, unassigned.pk, other.pk}  # a bad value is ignored

    # The filtered board polls with its filters, so a swap keeps them.
    body = client.get(url, {"mine": 1, "q": "mi ne"}).content.decode()
    poll = find(body, "div", id="board-poll")
    assert re.fullmatch(r"/boards/triage/changes/\?since=\d+&seen=\d+&drawn=\d+&mine=1&q=mi\+ne", poll["hx-get"])
    assert 'hx-trigger="every 3000ms" hx-target="#board-columns" hx-swap="outerHTML"' in body


def test_a_board_searched_by_text_draws_the_most_urgent_matches_and_says_how_many(
    client, desk, tier1, ticket_factory, monkeypatch
):
    monkeypatch.setattr("boards.cards.SEARCH_CARDS", 3)
    monkeypatch.setattr("boards.views.SEARCH_CARDS", 3)
    urgent = ticket_factory(title="Printer on fire", priority=1)
    for n in range(4):
        ticket_factory(title=f"Printer jam {n}", priority=3)
    ticket_factory(title="VPN down", priority=1)
    client.force_login(tier1)

    body = client.get(reverse("board", args=["triage"]), {"q": "printer"}).content.decode()

    cards = find_all(body, "article", class_="card")
    assert len(cards) == 3 and cards[0]["data-ticket-id"] == str(urgent.pk)
    note = find(body, "p", id="board-capped")
    assert note["_text"].startswith("Showing the 3 most urgent of 5 matching cards")
    assert find(body, "a", href="/search/?q=printer")
    # Under the cap: no note.
    assert not find(
        client.get(reverse("board", args=["triage"]), {"q": "vpn"}).content.decode(), "p", id="board-capped"
    )


def test_done_column_shows_only_the_last_week_with_a_link_to_the_rest(client, desk, tier1, ticket_factory):
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        old = ticket_factory(title="Closed long ago", column="Resolved")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        recent = ticket_factory(title="Closed this week", column="Resolved")
    client.force_login(tier1)

    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("board", args=["triage"]))

    assert _card_ids(response, "Resolved") == [recent.pk]
    body = response.content.decode()
    assert "Closed long ago" not in body
    assert f'href="{reverse("board_done", args=["triage"])}"' in body

    done = client.get(reverse("board_done", args=["triage"]))
    assert done.status_code == 200
    assert [t.pk for t in done.context["page"].object_list] == [recent.pk, old.pk]


def test_ticket_text_is_escaped_on_the_board(client, desk, tier1, ticket_factory):
    ticket_factory(title='<script>alert("x")</script>', client=Client.objects.create(name="<i>Evil</i> Ltd"))
    client.force_login(tier1)

    body = client.get(reverse("board", args=["triage"])).content.decode()

    assert '<script>alert("x")</script>' not in body and "<i>Evil</i>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;i&gt;Evil&lt;/i&gt; Ltd" in body


def test_a_board_i_do_not_work_is_read_only(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support, title="Server room")
    client.force_login(tier1)

    response = client.get(reverse("board", args=["support"]))

    assert response.status_code == 200
    card = _card_html(response.content.decode(), ticket.pk)
    assert "Server room" in card
    assert 'draggable="true"' not in card
    assert "card-move" not in card and "Escalate" not in card and "De-escalate" not in card
    assert "href=" not in card  # no drawer link that would answer 404
    assert response.context["quick_add"] is None
    assert "you can look, but not move" in response.content.decode()


def test_manager_gets_the_controls_on_every_board(client, desk, manager, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    client.force_login(manager)
    card = _card_html(client.get(reverse("board", args=["support"])).content.decode(), ticket.pk)
    assert 'draggable="true"' in card and ">Escalate<" in card and ">De-escalate<" in card


def test_unknown_board_is_404(client, tier1):
    client.force_login(tier1)
    assert client.get(reverse("board", args=["nope"])).status_code == 404


def test_board_refuses_post(client, desk, tier1):
    client.force_login(tier1)
    assert client.post(reverse("board", args=["triage"])).status_code == 405


# --- The live poll --------------------------------------------------------------------


def test_changes_is_204_while_the_revision_is_unchanged(client, desk, tier1, ticket_factory, django_assert_num_queries):
    ticket_factory()
    client.force_login(tier1)
    client.get(reverse("home"))  # warm the session
    revision = Board.objects.get(slug="triage").revision
    url = reverse("board_changes", args=["triage"])

    # Session and user for the login check, then one read of the revision.
    with django_assert_num_queries(3):
        response = client.get(url, {"since": revision}, headers=HTMX)

    assert response.status_code == 204 and response.content == b""


def test_changes_sends_the_columns_after_someone_moves_a_card(client, desk, tier1, manager, ticket_factory):
    ticket = ticket_factory(title="Moved by Morgan")
    client.force_login(tier1)
    before = Board.objects.get(slug="triage").revision
    services.move_ticket(
        ticket.pk, actor=manager, expected_version=ticket.version, to_column=desk.triage.columns.get(name="In progress")
    )

    response = client.get(reverse("board_changes", args=["triage"]), {"since": before, "mine": ""}, headers=HTMX)

    assert response.status_code == 200
    # The page hears it as an event (the drawer checks itself), not from a guess about the screen.
    assert json.loads(response["HX-Trigger-After-Settle"]) == {"switchback:board-changed": {"revision": before + 1}}
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="board-columns"')
    columns, poll = body.split('<div id="board-poll"')
    assert f'data-revision="{before + 1}"' in columns and "hx-swap-oob" not in columns
    # The poll comes along out of band, asking from the new revision on.
    assert f'data-revision="{before + 1}"' in poll and f"since={before + 1}" in poll and 'hx-swap-oob="true"' in poll
    in_progress = body.split('data-column-name="In progress"')[1].split("</section>")[0]
    assert f'id="ticket-{ticket.pk}"' in in_progress
    assert "<html" not in body


def test_changes_since_the_page_was_drawn_sends_only_those_cards_and_what_left(
    client, desk, tier1, manager, ticket_factory
):
    with time_machine.travel(NOW, tick=False):
        moved = ticket_factory(title="Moved by Morgan")
        reassigned = ticket_factory(title="Given to Tess")
        ticket_factory(title="Bystander")
        leaving = ticket_factory(title="Escalated to Support")
    drawn = NOW + timedelta(minutes=2)
    before = Board.objects.get(slug="triage").revision
    in_progress = desk.triage.columns.get(name="In progress")
    with time_machine.travel(drawn + timedelta(seconds=1), tick=False):
        services.move_ticket(moved.pk, actor=manager, expected_version=1, to_column=in_progress)
        board_services.update_ticket(reassigned, actor=manager, expected_version=1, assignee=tier1)
        services.move_ticket(leaving.pk, actor=manager, expected_version=1, criterion=desk.criteria["Beyond this tier"])
    client.force_login(tier1)
    url = reverse("board_changes", args=["triage"])

    with time_machine.travel(drawn + timedelta(seconds=3), tick=False):
        seen = int(drawn.timestamp() * 1000)
        response = client.get(url, {"since": before, "seen": seen, "drawn": seen}, headers=HTMX)

    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    revision = Board.objects.get(slug="triage").revision
    assert json.loads(response["HX-Trigger-After-Settle"]) == {"switchback:board-changed": {"revision": revision}}
    body = response.content.decode()
    assert not find(body, "div", id="board-columns") and "Bystander" not in body
    sent = {int(card["data-ticket-id"]): card for card in find_all(body, "article", class_="card")}
    assert set(sent) == {moved.pk, reassigned.pk}
    assert sent[moved.pk]["data-column-id"] == str(in_progress.pk)
    assert f'hx-swap-oob="beforeend:#column-cards-{in_progress.pk}"' in body
    assert "Tess Tier-One" in _card_html(body, reassigned.pk)  # an edit that moved nothing
    poll = find(body, "div", id="board-poll")
    assert poll["hx-swap-oob"] == "true" and poll["data-revision"] == str(revision)
    assert poll["data-gone"] == str(leaving.pk)
    # The next poll asks from the new revision and the moment this answer was drawn.
    answered = int((drawn + timedelta(seconds=3)).timestamp() * 1000)
    assert f"since={revision}&seen={answered}&drawn={seen}" in poll["hx-get"]


def test_changes_redraw_the_whole_board_once_a_minute(client, desk, tier1, manager, ticket_factory):
    ticket = ticket_factory(title="Moved by Morgan")
    drawn = NOW
    before = Board.objects.get(slug="triage").revision
    at = drawn + REDRAW_EVERY + timedelta(seconds=1)
    with time_machine.travel(at - timedelta(seconds=2), tick=False):
        services.move_ticket(
            ticket.pk, actor=manager, expected_version=1, to_column=desk.triage.columns.get(name="In progress")
        )
    client.force_login(tier1)
    url = reverse("board_changes", args=["triage"])
    seen = int((at - timedelta(seconds=3)).timestamp() * 1000)

    with time_machine.travel(at, tick=False):
        whole = client.get(url, {"since": before, "seen": seen, "drawn": int(drawn.timestamp() * 1000)}, headers=HTMX)
        cards = client.get(url, {"since": before, "seen": seen, "drawn": seen}, headers=HTMX)

    assert whole.content.decode().lstrip().startswith('<div id="board-columns"') and "HX-Reswap" not in whole
    assert cards["HX-Reswap"] == "none" and not find(cards.content.decode(), "div", id="board-columns")


def test_changes_too_many_to_send_one_by_one_redraw_the_columns(client, desk, tier1, ticket_factory):
    before = Board.objects.get(slug="triage").revision
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        for n in range(CHANGE_LIMIT + 1):
            ticket_factory(title=f"Card {n}")
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        response = client.get(
            reverse("board_changes", args=["triage"]),
            {"since": before, "seen": int(NOW.timestamp() * 1000)},
            headers=HTMX,
        )

    assert "HX-Reswap" not in response
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="board-columns"')
    assert len(find_all(body, "article", class_="card")) == CHANGE_LIMIT + 1


def test_changes_without_htmx_redirects_to_the_board(client, desk, tier1):
    client.force_login(tier1)
    response = client.get(reverse("board_changes", args=["triage"]), {"since": 0, "mine": 1})
    assert response.status_code == 302 and response["Location"] == "/boards/triage/?mine=1"


def test_changes_refuses_post(client, desk, tier1):
    client.force_login(tier1)
    assert client.post(reverse("board_changes", args=["triage"])).status_code == 405


def test_done_list_refuses_post(client, desk, tier1):
    client.force_login(tier1)
    assert client.post(reverse("board_done", args=["triage"])).status_code == 405


def test_cards_count_only_open_tickets_of_this_board(client, desk, tier1, ticket_factory):
    ticket_factory(board=desk.support)
    ticket_factory()
    client.force_login(tier1)
    response = client.get(reverse("board", args=["triage"]))
    shown = sum(len(c.cards) for c in response.context["columns"])
    assert shown == 1 == Ticket.objects.filter(board=desk.triage).count()


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_card_buttons_agree_with_manual_criteria(desk, tier):
    """The board reads criteria once per page; it must offer exactly what manual_criteria would."""
    index = CriteriaIndex()
    for board in desk.boards.values():
        ticket = Ticket(board=board, tier=tier)
        expected = {d for d in Direction.values if services.manual_criteria(ticket, d)}
        assert set(index.directions(board, tier)) == expected, (board.slug, tier)


def test_the_board_names_each_prioritys_own_limit_and_never_an_empty_one(client, desk, tier1):
    limit = desk.criteria["Tier 1 time limit"]
    limit.p1_limit_minutes = 10
    services.save_criterion(limit, actor=None)
    client.force_login(tier1)
    [line] = find_all(client.get(reverse("board", args=["triage"])).text, "p", class_="time-limit")
    assert "after 30 min; P1 10 min (active time)." in line["_text"]

    # Limits for some priorities only: the others have none, and the line never says "None".
    limit.time_limit_minutes, limit.p2_limit_minutes = None, 20
    services.save_criterion(limit, actor=None)
    [line] = find_all(client.get(reverse("board", args=["triage"])).text, "p", class_="time-limit")
    assert "after P1 10 min, P2 20 min only (active time)." in line["_text"]
    assert "None" not in line["_text"]
