"""Moving a card within its board: the drag, the keyboard and the no-JS form all post ticket_move."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from boards import services as services_boards
from boards.cards import CHANGE_LIMIT
from boards.models import Board, Ticket
from routing import services
from routing.models import Move
from tests.boards.html import find, find_all
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}
ON_MY_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/?mine=1"}


def _column(board: Board, name: str):
    return board.columns.get(name=name)


def test_drag_moves_the_card_and_sends_back_the_columns(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Drag me", assignee=tier1)
    in_progress = _column(desk.triage, "In progress")
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": in_progress.pk, "version": ticket.version},
        headers=ON_MY_TRIAGE,
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.column == in_progress and ticket.version == 2
    move = Move.objects.latest("pk")
    assert (move.actor, move.from_column.name, move.to_column) == (tier1, "New", in_progress)
    body = response.content.decode()
    assert '<div id="messages" class="messages" aria-live="polite" hx-swap-oob="true">' in body
    assert '<p class="message success">' in body and "moved to In progress" in body
    # The board on screen is redrawn with its filters (mine=1) and the new revision.
    assert '<div id="board-columns"' in body and 'hx-swap-oob="true"' in body
    assert "&amp;mine=1" in body
    assert f'data-revision="{Board.objects.get(slug="triage").revision}"' in body
    section = body.split('data-column-name="In progress"')[1].split("</section>")[0]
    assert f'id="ticket-{ticket.pk}"' in section


def test_form_without_javascript_redirects_back_with_a_message(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    waiting = _column(desk.triage, "Waiting on customer")
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": waiting.pk, "version": ticket.version, "next": "/boards/triage/?priority=3"},
        follow=True,
    )

    assert response.redirect_chain == [("/boards/triage/?priority=3", 302)]
    ticket.refresh_from_db()
    assert ticket.column == waiting
    assert f"#{ticket.pk} moved to Waiting on customer." in response.content.decode()


def test_next_pointing_elsewhere_is_ignored(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.triage, "In progress").pk, "version": ticket.version, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/boards/triage/"


def test_moving_to_the_done_column_resolves(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.triage, "Resolved").pk, "version": ticket.version},
        headers=ON_TRIAGE,
    )
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None and ticket.deadline_at is None
    assert f"#{ticket.pk} resolved." in response.content.decode()


def test_stale_version_is_a_conflict_naming_who_moved_it(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    seen = ticket.version
    rival = make_user("riley", boards=[desk.triage], first_name="Riley", last_name="Rival")
    services.move_ticket(
        ticket.pk, actor=rival, expected_version=seen, to_column=_column(desk.triage, "Waiting on customer")
    )
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.triage, "In progress").pk, "version": seen},
        headers=ON_TRIAGE,
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert '<p class="message error">' in body
    assert f"#{ticket.pk} was just moved by Riley Rival to Triage · Waiting on customer." in body
    ticket.refresh_from_db()
    assert ticket.column.name == "Waiting on customer" and ticket.version == seen + 1
    # The card is redrawn where it truly is.
    section = body.split('data-column-name="Waiting on customer"')[1].split("</section>")[0]
    assert f'id="ticket-{ticket.pk}"' in section


def test_a_column_of_another_board_needs_a_criterion(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.support, "In progress").pk, "version": ticket.version},
        headers=ON_TRIAGE,
    )
    assert "needs a criterion" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.board == desk.triage and ticket.version == 1


def test_missing_column_is_an_error_message(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    response = client.post(reverse("ticket_move", args=[ticket.pk]), {"version": 1}, headers=ON_TRIAGE)
    assert "Pick a column" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_technician_not_on_the_board_gets_403_and_the_ticket_stays(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(tier1)

    response = client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.support, "In progress").pk, "version": ticket.version},
        headers=ON_TRIAGE,
    )

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.column.name == "New" and ticket.version == 1


def test_manager_moves_on_any_board(client, desk, manager, ticket_factory):
    ticket = ticket_factory(board=desk.support)
    client.force_login(manager)
    client.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": _column(desk.support, "In progress").pk, "version": ticket.version},
    )
    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"


def test_move_refuses_get(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(reverse("ticket_move", args=[ticket.pk])).status_code == 405


def test_move_needs_csrf(desk, tier1, ticket_factory):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(tier1)
    ticket = ticket_factory()
    response = strict.post(
        reverse("ticket_move", args=[ticket.pk]), {"column": _column(desk.triage, "In progress").pk, "version": 1}
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).version == 1


def test_unknown_ticket_is_404(client, desk, tier1):
    client.force_login(tier1)
    assert client.post(reverse("ticket_move", args=[999]), {"column": 1, "version": 1}).status_code == 404


def _seen(moment) -> str:
    """The page's ``data-seen``: when it was drawn, in ms since the epoch."""
    return str(int(moment.timestamp() * 1000))


def _sent_cards(body: str) -> dict[int, str]:
    """{ticket number: hx-swap-oob of the wrapper} for every card sent out of band, read in order."""
    found = {}
    for chunk in body.split('<div hx-swap-oob="')[1:]:
        target, _, rest = chunk.partition('"')
        card = find(rest, "article")
        found[int(card["data-ticket-id"])] = target
    return found


def test_a_move_answers_with_only_the_cards_changed_since_the_page_was_drawn(
    client, desk, tier1, manager, ticket_factory
):
    with time_machine.travel(NOW, tick=False):
        mine = ticket_factory(title="Quick one")
        moved_meanwhile = ticket_factory(title="Moved by Morgan meanwhile")
        bystander = ticket_factory(title="Bystander")
        leaving = ticket_factory(title="Escalated meanwhile")
    drawn = NOW + timedelta(minutes=5)
    seen = Board.objects.get(slug="triage").revision
    in_progress = _column(desk.triage, "In progress")
    with time_machine.travel(drawn + timedelta(seconds=20), tick=False):
        services.move_ticket(moved_meanwhile.pk, actor=manager, expected_version=1, to_column=in_progress)
        services.move_ticket(leaving.pk, actor=manager, expected_version=1, criterion=desk.criteria["Beyond this tier"])
    client.force_login(tier1)

    with time_machine.travel(drawn + timedelta(seconds=30), tick=False):
        response = client.post(
            reverse("ticket_move", args=[mine.pk]),
            {"column": _column(desk.triage, "Waiting on customer").pk, "version": mine.version},
            headers={**ON_TRIAGE, "X-Board-Revision": str(seen), "X-Board-Seen": _seen(drawn)},
        )

    body = response.content.decode()
    assert response.status_code == 200 and not find(body, "div", id="board-columns")
    waiting = _column(desk.triage, "Waiting on customer")
    assert _sent_cards(body) == {
        mine.pk: f"beforeend:#column-cards-{waiting.pk}",
        moved_meanwhile.pk: f"beforeend:#column-cards-{in_progress.pk}",
    }
    assert "Bystander" not in body and bystander.pk not in _sent_cards(body)
    card = find(body, "article", id=f"ticket-{mine.pk}")
    assert (card["data-version"], card["data-column-id"]) == ("2", str(waiting.pk))
    assert "Paused" in body  # the clock stopped in a waiting column
    poll = find(body, "div", id="board-poll")
    revision = Board.objects.get(slug="triage").revision
    assert poll["data-revision"] == str(revision) and f"since={revision}" in poll["hx-get"]
    assert poll["data-gone"].split() == [str(leaving.pk)]  # it left for Support: off the page
    assert "moved to Waiting on customer" in body


def test_a_move_reads_the_boards_columns_and_the_criteria_once(client, desk, tier1, ticket_factory):
    """The drop target comes from the columns read to draw the answer, and the move's deadline and the
    cards' buttons share one read of the criteria; the revision the answer carries is the one after the move."""
    ticket = ticket_factory(title="Quick one")
    client.force_login(tier1)
    before = Board.objects.get(slug="triage").revision
    in_progress = _column(desk.triage, "In progress")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("ticket_move", args=[ticket.pk]),
            {"column": in_progress.pk, "version": ticket.version},
            headers={**ON_TRIAGE, "X-Board-Revision": str(before), "X-Board-Seen": _seen(timezone.now())},
        )
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "boards_column"' in sql for sql in reads) == 1
    assert sum('FROM "routing_criterion"' in sql for sql in reads) == 1
    assert not any('FROM "calendars_calendar"' in sql for sql in reads)  # read with the board, and with the ticket
    assert not any(q["sql"].startswith('DELETE FROM "routing_bounceflag"') for q in queries.captured_queries)
    poll = find(response.content.decode(), "div", id="board-poll")
    assert poll["data-revision"] == str(before + 1) == str(Board.objects.get(slug="triage").revision)


def test_a_move_on_a_filtered_board_takes_off_cards_that_no_longer_match(client, desk, tier1, manager, ticket_factory):
    with time_machine.travel(NOW, tick=False):
        mine = ticket_factory(title="Mine", assignee=tier1)
        handed_over = ticket_factory(title="Handed to Morgan", assignee=tier1)
    drawn = NOW + timedelta(minutes=1)
    with time_machine.travel(drawn + timedelta(seconds=5), tick=False):
        services_boards.update_ticket(handed_over, actor=manager, expected_version=1, assignee=manager)
    client.force_login(tier1)

    with time_machine.travel(drawn + timedelta(seconds=10), tick=False):
        response = client.post(
            reverse("ticket_move", args=[mine.pk]),
            {"column": _column(desk.triage, "In progress").pk, "version": 1},
            headers={**ON_MY_TRIAGE, "X-Board-Revision": "0", "X-Board-Seen": _seen(drawn)},
        )

    body = response.content.decode()
    assert set(_sent_cards(body)) == {mine.pk}
    poll = find(body, "div", id="board-poll")
    assert poll["data-gone"].split() == [str(handed_over.pk)] and "mine=1" in poll["hx-get"]


def test_too_many_changes_since_the_page_was_drawn_redraw_the_whole_board(client, desk, tier1, ticket_factory):
    drawn = NOW
    with time_machine.travel(drawn + timedelta(seconds=10), tick=False):
        tickets = [ticket_factory(title=f"New card {n}") for n in range(CHANGE_LIMIT + 1)]
    client.force_login(tier1)

    with time_machine.travel(drawn + timedelta(seconds=20), tick=False):
        response = client.post(
            reverse("ticket_move", args=[tickets[0].pk]),
            {"column": _column(desk.triage, "In progress").pk, "version": 1},
            headers={**ON_TRIAGE, "X-Board-Revision": "0", "X-Board-Seen": _seen(drawn)},
        )

    body = response.content.decode()
    assert find(body, "div", id="board-columns", hx_swap_oob="true")
    assert not _sent_cards(body) and len(find_all(body, "article", class_="card")) == CHANGE_LIMIT + 1


def test_a_move_without_the_moment_the_page_was_drawn_redraws_the_board(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    for seen in (None, "soon", "99999999999999999999"):
        headers = {**ON_TRIAGE, "X-Board-Revision": "0"} | ({"X-Board-Seen": seen} if seen else {})
        ticket.refresh_from_db()
        response = client.post(
            reverse("ticket_move", args=[ticket.pk]),
            {
                "column": _column(desk.triage, "In progress" if ticket.version % 2 else "New").pk,
                "version": ticket.version,
            },
            headers=headers,
        )
        assert response.status_code == 200 and find(response.content.decode(), "div", id="board-columns")
