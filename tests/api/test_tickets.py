"""Tickets through the API: the list and its filters, the detail and its timeline, opening, changing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Ticket
from routing.models import Move
from tests.api.conftest import Api, make_token, problem

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TICKETS = reverse("api:tickets")


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [t["id"] for t in response.json()["results"]]


# --- Who sees what -----------------------------------------------------------------


def test_a_technician_lists_their_boards_tickets_and_those_assigned_to_them(desk, tier1, ticket_factory, tess_api):
    mine = ticket_factory(title="On Triage")
    elsewhere = ticket_factory(board=desk.support, title="On Support")
    assigned = ticket_factory(board=desk.support, title="Escalated, still mine", assignee=tier1)
    assert sorted(_ids(tess_api.get(TICKETS))) == sorted([mine.pk, assigned.pk])
    assert elsewhere.pk not in _ids(tess_api.get(TICKETS, {"board": "support"}))


def test_a_technician_s_token_is_refused_on_another_board_s_ticket(desk, tier1, ticket_factory, tess_api):
    other = ticket_factory(board=desk.support, title="Not Tess's")
    url = reverse("api:ticket", args=[other.pk])
    problem(tess_api.get(url), 404, "not_found")
    problem(tess_api.get(reverse("api:ticket_notes", args=[other.pk])), 404, "not_found")
    refused = problem(tess_api.patch(url, {"tier": 2}, headers={"If-Match": '"1"'}), 403, "not_your_board")
    assert "Support board, which you do not work" in refused["detail"]
    problem(
        tess_api.post(reverse("api:ticket_moves", args=[other.pk]), {"version": 1, "column": other.column_id}),
        403,
        "not_your_board",
    )
    problem(tess_api.post(reverse("api:ticket_notes", args=[other.pk]), {"body": "hi"}), 403, "not_your_board")
    problem(tess_api.post(TICKETS, {"board": "support", "title": "Sneaky"}), 403, "not_your_board")
    assert Ticket.objects.count() == 1 and Move.objects.count() == 1 and not other.notes.exists()


def test_an_assignee_on_another_board_reads_but_may_not_change(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(board=desk.support, title="Mine, elsewhere", assignee=tier1)
    url = reverse("api:ticket", args=[ticket.pk])
    assert tess_api.get(url).status_code == 200
    problem(tess_api.patch(url, {"needs_onsite": True}, headers={"If-Match": '"1"'}), 403, "not_your_board")


def test_a_manager_sees_every_board(desk, manager, ticket_factory, morgan_api):
    tickets = [ticket_factory(board=board) for board in (desk.triage, desk.support, desk.noc)]
    assert sorted(_ids(morgan_api.get(TICKETS))) == sorted(t.pk for t in tickets)


def test_visible_to_and_workable_by_agree_with_the_browser_s_rule(desk, tier1, tier2, manager, ticket_factory):
    from boards import permissions

    tickets = [
        ticket_factory(title="triage"),
        ticket_factory(board=desk.support, title="support"),
        ticket_factory(board=desk.support, title="support, tess's", assignee=tier1),
        ticket_factory(board=desk.noc, title="noc"),
    ]
    for user in (tier1, tier2, manager):
        fresh = type(user).objects.get(pk=user.pk)
        visible = {t.pk for t in tickets if permissions.can_view(fresh, t)}
        workable = {t.pk for t in tickets if permissions.can_work(fresh, t.board_id)}
        assert set(Ticket.objects.visible_to(fresh).values_list("pk", flat=True)) == visible
        assert set(Ticket.objects.workable_by(fresh).values_list("pk", flat=True)) == workable


# --- The list ----------------------------------------------------------------------


def test_filters(desk, tier1, tier2, manager, ticket_factory, morgan_api):
    p1 = ticket_factory(title="Urgent", priority=1, assignee=tier1)
    waiting = ticket_factory(title="Waiting", column="Waiting on customer")
    noc = ticket_factory(board=desk.noc, title="Disk", assignee=tier2)
    done = ticket_factory(title="Done", column="Resolved")
    get = morgan_api.get
    assert _ids(get(TICKETS, {"board": "noc"})) == [noc.pk]
    assert _ids(get(TICKETS, {"column": waiting.column_id})) == [waiting.pk]
    assert _ids(get(TICKETS, {"assignee": "tess"})) == [p1.pk]
    assert sorted(_ids(get(TICKETS, {"assignee": "none"}))) == sorted([waiting.pk, done.pk])
    assert _ids(get(TICKETS, {"priority": 1})) == [p1.pk]
    assert _ids(get(TICKETS, {"state": "resolved"})) == [done.pk]
    assert done.pk not in _ids(get(TICKETS, {"state": "open"}))
    assert _ids(Api(make_token(tier2)).get(TICKETS, {"assignee": "me"})) == [noc.pk]


def test_updated_since(desk, manager, ticket_factory, morgan_api):
    with time_machine.travel(NOW, tick=False):
        old = ticket_factory(title="Old")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        new = ticket_factory(title="New")
    assert _ids(morgan_api.get(TICKETS, {"updated_since": "2026-11-29T10:30:00Z"})) == [new.pk]
    assert sorted(_ids(morgan_api.get(TICKETS, {"updated_since": "2026-11-29T10:00:00Z"}))) == [old.pk, new.pk]


def test_bad_filters_are_400_naming_the_field(manager, morgan_api):
    for query, field in [
        ({"priority": "9"}, "priority"),
        ({"column": "²"}, "column"),
        ({"board": "no/slug"}, "board"),
        ({"state": "maybe"}, "state"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"column": "9" * 30}, "column"),
    ]:
        body = problem(morgan_api.get(TICKETS, query), 400, "invalid")
        assert field in body["errors"], (query, body)


def test_cursor_pagination_walks_every_ticket_once_newest_first(desk, manager, ticket_factory, morgan_api):
    tickets = [ticket_factory(title=f"T{n}") for n in range(7)]
    seen, url, pages = [], TICKETS + "?page_size=3", 0
    while url:
        page = morgan_api.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url, pages = page["next"], pages + 1
    assert seen == sorted((t.pk for t in tickets), reverse=True) and pages == 3


def test_a_forged_cursor_is_a_400(manager, morgan_api):
    import base64

    for raw in ["!!!", base64.b64encode(b"p=abc").decode(), base64.b64encode(b"p=" + b"9" * 40).decode()]:
        problem(morgan_api.get(TICKETS, {"cursor": raw}), 400, "invalid")
    problem(morgan_api.get(TICKETS, {"page_size": "1000"}), 400, "invalid")


def test_the_list_s_query_count_does_not_grow_with_the_page(desk, tier1, ticket_factory, tess_api):
    ticket_factory(assignee=tier1)

    def count(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert tess_api.get(TICKETS, {"page_size": size}).status_code == 200
        return len(queries)

    count(1)  # the token's first use writes last_used_at; measure the steady state
    small = count(1)
    for n in range(30):
        ticket_factory(title=f"More {n}", assignee=tier1 if n % 2 else None, priority=1 + n % 4)
    assert count(25) == small


# --- Detail ------------------------------------------------------------------------


def test_the_detail_has_the_move_timeline_and_an_etag(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(title="Printer", column="New")
    tess_api.post(
        reverse("api:ticket_moves", args=[ticket.pk]),
        {"version": 1, "column": desk.triage.columns.get(name="In progress").pk},
    )
    response = tess_api.get(reverse("api:ticket", args=[ticket.pk]))
    body = response.json()
    assert response["ETag"] == '"2"' and body["version"] == 2
    assert [(m["to_column_name"], m["note"]) for m in body["moves"]] == [("New", "Opened"), ("In progress", "")]
    assert body["moves"][1]["actor"]["username"] == "tess"


def test_a_ticket_that_is_not_there_is_404(tier1, tess_api):
    problem(tess_api.get(reverse("api:ticket", args=[999999])), 404, "not_found")


# --- Opening -----------------------------------------------------------------------


def test_opening_a_ticket_goes_through_the_one_door(desk, tier1, tess_api):
    response = tess_api.post(
        TICKETS,
        {"board": "triage", "title": "VPN drops", "priority": 2, "requester_email": "pat@example.com"},
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response["Location"].endswith(reverse("api:ticket", args=[ticket.pk]))
    assert (ticket.title, ticket.priority, ticket.column.name) == ("VPN drops", 2, "New")
    assert ticket.deadline_at is not None  # the Tier 1 clock runs: open_ticket set it
    assert [m.note for m in ticket.moves.all()] == ["Opened"] and ticket.moves.get().actor == tier1


def test_opening_with_bad_input_is_400_and_opens_nothing(desk, tier1, tess_api):
    for data in [
        {},
        {"board": "triage"},
        {"board": "triage", "title": "x" * 201},
        {"board": "triage", "title": "ok", "priority": 7},
        {"board": "atlantis", "title": "ok"},
        {"board": "triage", "title": "ok", "client": "Nobody Inc"},
        {"board": "triage", "title": "a\x00b"},
        {"board": "triage", "title": "ok", "requester_email": "not-mail"},
    ]:
        problem(tess_api.post(TICKETS, data), 400, "invalid")
    assert not Ticket.objects.exists()


# --- Changing ------------------------------------------------------------------------


def test_patch_without_if_match_is_428(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory()
    url = reverse("api:ticket", args=[ticket.pk])
    problem(tess_api.patch(url, {"needs_onsite": True}), 428, "if_match_required")
    problem(tess_api.patch(url, {"needs_onsite": True}, headers={"If-Match": "*"}), 428, "if_match_required")
    problem(tess_api.patch(url, {"needs_onsite": True}, headers={"If-Match": '"two"'}), 400, "malformed")
    ticket.refresh_from_db()
    assert not ticket.needs_onsite


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(desk, tier1, both_users, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    # Someone else moves it first: version 1 → 2.
    alex_api = Api(make_token(both_users))
    alex_api.post(
        reverse("api:ticket_moves", args=[ticket.pk]),
        {"version": 1, "column": desk.triage.columns.get(name="In progress").pk},
    )
    body = problem(
        tess_api.patch(reverse("api:ticket", args=[ticket.pk]), {"assignee": "tess"}, headers={"If-Match": '"1"'}),
        412,
        "stale_version",
    )
    assert body["current_version"] == 2 and body["moved_by"]["username"] == "alex"
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_patch_with_the_current_version_changes_the_ticket(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory()
    response = tess_api.patch(
        reverse("api:ticket", args=[ticket.pk]),
        {"assignee": "tess", "tier": 2, "required_skills": []},
        headers={"If-Match": f'"{ticket.version}"'},
    )
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.tier) == (tier1, 2)
    assert response["ETag"] == f'"{ticket.version}"' and response.json()["tier"] == 2
    assert ticket.moves.order_by("pk").last().to_tier == 2  # a tier change is a move


def test_patch_refuses_an_assignee_who_does_not_work_the_board(desk, tier1, tier2, ticket_factory, tess_api):
    ticket = ticket_factory()
    url = reverse("api:ticket", args=[ticket.pk])
    body = problem(tess_api.patch(url, {"assignee": "sam"}, headers={"If-Match": '"1"'}), 400, "invalid")
    assert "assignee" in body["errors"]
    problem(tess_api.patch(url, {"required_skills": ["Telepathy"]}, headers={"If-Match": '"1"'}), 400, "invalid")
    problem(tess_api.patch(url, {}, headers={"If-Match": '"1"'}), 400, "invalid")
    problem(tess_api.patch(url, {"tier": 0}, headers={"If-Match": '"1"'}), 400, "invalid")


def test_a_fact_that_fires_a_condition_moves_the_ticket(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory()
    response = tess_api.patch(
        reverse("api:ticket", args=[ticket.pk]), {"needs_onsite": True}, headers={"If-Match": '"1"'}
    )
    ticket.refresh_from_db()
    assert ticket.board == desk.support  # Needs onsite visit fired, through the one door
    assert response.status_code == 204  # and Tess no longer sees it


def test_a_list_item_is_the_ticket_as_the_serializer_draws_it(desk, tier1, manager, ticket_factory, morgan_api):
    from api.serializers import TicketSerializer
    from boards.models import Client

    acme = Client.objects.create(name="Acme <Ltd>")
    tickets = [
        ticket_factory(title="Plain"),
        ticket_factory(title="Assigned, with a client", assignee=tier1, client=acme, priority=1),
        ticket_factory(title="Done", column="Resolved", assignee=manager),
    ]
    listed = {t["id"]: t for t in morgan_api.get(TICKETS).json()["results"]}
    for ticket in tickets:
        fresh = Ticket.objects.select_related("board", "column", "client", "assignee").get(pk=ticket.pk)
        assert listed[ticket.pk] == TicketSerializer(fresh).data
