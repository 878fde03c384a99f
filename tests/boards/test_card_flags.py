"""What a card tells about its ticket's history: a bounce between boards, and whether it can go back to its sender.

Both come with the card's own row (a join, an EXISTS), never a query per card.
"""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Board
from routing import services
from routing.models import BounceFlag, Criterion, Direction
from tests.boards.html import find, find_all
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _card(body: str, pk: int) -> str:
    """One card's HTML out of a page or an answer."""
    found = re.search(rf'<article [^>]*id="ticket-{pk}".*?</article>', body, re.S)
    assert found, f"no card #{pk}"
    return found.group(0)


def _buttons(body: str, pk: int) -> list[str]:
    return [b["_text"] for b in find_all(_card(body, pk), "button")]


def _bounce(desk, manager, ticket) -> None:
    """Triage → Support → Triage within the hour: the bounce guard flags it (routing.services)."""
    services.move_ticket(
        ticket.pk, actor=manager, expected_version=ticket.version, criterion=desk.criteria["Beyond this tier"]
    )
    ticket.refresh_from_db()
    services.move_ticket(
        ticket.pk, actor=manager, expected_version=ticket.version, criterion=desk.criteria["User error discovered"]
    )


def _board(client, slug: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("board", args=[slug]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


# --- Bouncing between boards ---------------------------------------------------------------


@override_settings(BOUNCE_HOLDS_AUTOMATIC=True)
def test_a_bouncing_ticket_is_marked_on_its_card_with_why_and_what_the_scheduler_does(
    client, desk, tier1, manager, ticket_factory
):
    with time_machine.travel(NOW, tick=False):
        bouncing = ticket_factory(title="Back and forth")
        calm = ticket_factory(title="Stays put")
        _bounce(desk, manager, bouncing)
    assert BounceFlag.objects.filter(ticket=bouncing).exists()
    client.force_login(tier1)

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        _, body = _board(client, "triage")

    badge = find(_card(body, bouncing.pk), "span", class_="bounce")
    assert badge["_text"] == "↔ bouncing"
    assert "Triage → Support → Triage within 2 h" in badge["title"]
    assert "automatic moves are held until a person moves it" in badge["title"]
    assert not find(_card(body, calm.pk), "span", class_="bounce")


@override_settings(BOUNCE_HOLDS_AUTOMATIC=False)
def test_without_holds_the_badge_says_a_persons_move_clears_it_and_a_move_does(
    client, desk, tier1, manager, ticket_factory
):
    with time_machine.travel(NOW, tick=False):
        bouncing = ticket_factory(title="Back and forth")
        _bounce(desk, manager, bouncing)
    client.force_login(tier1)
    drawn = NOW + timedelta(minutes=5)
    bouncing.refresh_from_db()

    with time_machine.travel(drawn, tick=False):
        _, body = _board(client, "triage")
        badge = find(_card(body, bouncing.pk), "span", class_="bounce")
        assert "a person's move clears this" in badge["title"]
        assert "held" not in badge["title"]

    # Tess moves it: the flag is cleared, and the card her move sends back says so.
    with time_machine.travel(drawn + timedelta(seconds=10), tick=False):
        response = client.post(
            reverse("ticket_move", args=[bouncing.pk]),
            {"column": desk.triage.columns.get(name="In progress").pk, "version": bouncing.version},
            headers={
                "HX-Request": "true",
                "HX-Current-URL": "http://testserver/boards/triage/",
                "X-Board-Seen": str(int(drawn.timestamp() * 1000)),
            },
        )
    body = response.content.decode()
    assert not find(body, "div", id="board-columns")  # card by card, not the whole board
    assert not find(_card(body, bouncing.pk), "span", class_="bounce")
    assert not BounceFlag.objects.filter(ticket=bouncing).exists()


def test_the_live_poll_brings_the_badge_with_the_card(client, desk, tier1, manager, ticket_factory):
    with time_machine.travel(NOW, tick=False):
        bouncing = ticket_factory(title="Back and forth")
    client.force_login(tier1)
    drawn = NOW + timedelta(minutes=1)
    with time_machine.travel(drawn + timedelta(seconds=5), tick=False):
        _bounce(desk, manager, bouncing)

    with time_machine.travel(drawn + timedelta(seconds=10), tick=False):
        seen = str(int(drawn.timestamp() * 1000))
        response = client.get(
            reverse("board_changes", args=["triage"]),
            {"since": 0, "seen": seen, "drawn": seen},
            headers={"HX-Request": "true"},
        )

    body = response.content.decode()
    assert response.status_code == 200 and not find(body, "div", id="board-columns")
    assert find(_card(body, bouncing.pk), "span", class_="bounce")


def test_bounce_badges_cost_no_query_per_card(client, desk, tier1, manager, ticket_factory):
    client.force_login(tier1)
    with time_machine.travel(NOW, tick=False):
        first = ticket_factory(title="Bounces first")
        _bounce(desk, manager, first)
        one, body = _board(client, "triage")
        assert body.count('class="bounce"') == 1
        for n in range(4):
            _bounce(desk, manager, ticket_factory(title=f"Bounces too {n}"))
        five, body = _board(client, "triage")
    assert body.count('class="bounce"') == 5
    assert one == five


# --- De-escalate: only where a de-escalation criterion applies to the ticket ---------------


def _only_return_to_sender(desk) -> Criterion:
    """Support's one way down is back to whoever escalated the ticket (the demo's Return to sender)."""
    for name in ("Onsite complete", "User error discovered"):
        criterion = desk.criteria[name]
        criterion.active = False
        services.save_criterion(criterion, actor=None)
    criterion = Criterion(
        name="Return to sender",
        direction=Direction.DE_ESCALATE,
        trigger=Criterion.Trigger.MANUAL,
        from_board=desk.support,
        to_sender=True,
    )
    services.save_criterion(criterion, actor=None)
    return criterion


def _escalated_from_triage(desk, manager, title: str):
    ticket = make_ticket(board=desk.triage, title=title)
    services.move_ticket(
        ticket.pk, actor=manager, expected_version=ticket.version, criterion=desk.criteria["Beyond this tier"]
    )
    ticket.refresh_from_db()
    return ticket


def test_de_escalate_is_offered_only_on_cards_that_have_a_sender(client, desk, tier2, manager):
    _only_return_to_sender(desk)
    with time_machine.travel(NOW, tick=False):
        sent = _escalated_from_triage(desk, manager, "Sent up by Triage")
        born_here = make_ticket(board=desk.support, title="Opened on Support", tier=2)
    client.force_login(tier2)

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        _, body = _board(client, "support")
        sent_drawer = client.get(reverse("ticket", args=[sent.pk])).content.decode()
        born_drawer = client.get(reverse("ticket", args=[born_here.pk])).content.decode()

    assert (sent.board_id, sent.tier) == (desk.support.pk, 2) == (born_here.board_id, born_here.tier)
    assert "De-escalate" in _buttons(body, sent.pk)
    assert "De-escalate" not in _buttons(body, born_here.pk)
    # Both still escalate to tier 3: only the way down depends on the sender.
    assert "Escalate" in _buttons(body, born_here.pk)
    # The drawer offers the same.
    assert ">De-escalate</button>" in sent_drawer and ">De-escalate</button>" not in born_drawer
    # And the dialog lists the criterion for the first, nothing for the second.
    dialog = client.get(reverse("ticket_criteria", args=[sent.pk, "de-escalate"])).content.decode()
    assert "Return to sender" in dialog and "Triage" in dialog
    dialog = client.get(reverse("ticket_criteria", args=[born_here.pk, "de-escalate"])).content.decode()
    assert "Return to sender" not in dialog


def test_a_card_escalated_within_its_board_has_no_sender(client, desk, tier2, manager):
    """A tier step on Support (2 → 3) does not make Support the sender: nothing to go back to."""
    _only_return_to_sender(desk)
    with time_machine.travel(NOW, tick=False):
        stepped = make_ticket(board=desk.support, title="Tier step only", tier=2)
        services.move_ticket(
            stepped.pk,
            actor=manager,
            expected_version=stepped.version,
            criterion=desk.criteria["Beyond this tier (Support tier 2 → 3)"],
        )
    client.force_login(tier2)
    _, body = _board(client, "support")
    assert "De-escalate" not in _buttons(body, stepped.pk)


def test_senders_are_read_with_the_cards_not_per_card(client, desk, tier2, manager):
    _only_return_to_sender(desk)
    client.force_login(tier2)
    with time_machine.travel(NOW, tick=False):
        _escalated_from_triage(desk, manager, "Sent up 0")
        one, body = _board(client, "support")
        assert body.count(">De-escalate</button>") == 1
        for n in range(1, 5):
            _escalated_from_triage(desk, manager, f"Sent up {n}")
        five, body = _board(client, "support")
    assert body.count(">De-escalate</button>") == 5
    assert one == five


def test_a_move_answer_offers_de_escalate_as_the_board_does(client, desk, tier2, manager):
    _only_return_to_sender(desk)
    with time_machine.travel(NOW, tick=False):
        sent = _escalated_from_triage(desk, manager, "Sent up by Triage")
        born_here = make_ticket(board=desk.support, title="Opened on Support", tier=2)
    client.force_login(tier2)
    drawn = NOW + timedelta(minutes=1)
    in_progress = desk.support.columns.get(name="In progress")
    seen = str(int(drawn.timestamp() * 1000))
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/support/", "X-Board-Seen": seen}

    with time_machine.travel(drawn + timedelta(seconds=5), tick=False):
        for ticket in (sent, born_here):
            response = client.post(
                reverse("ticket_move", args=[ticket.pk]),
                {"column": in_progress.pk, "version": ticket.version},
                headers=headers,
            )
            body = response.content.decode()
            assert not find(body, "div", id="board-columns")
            assert ("De-escalate" in _buttons(body, ticket.pk)) == (ticket == sent)
    assert Board.objects.get(slug="support").revision > 0
