"""Moves and notes through the API: the one door, its version check, and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from boards.models import Note
from routing.models import Criterion, Move
from routing.services import sweep_once
from tests.api.conftest import Api, make_token, problem

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _moves(ticket) -> str:
    return reverse("api:ticket_moves", args=[ticket.pk])


def test_a_column_move_on_the_same_board(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    target = desk.triage.columns.get(name="In progress")
    response = tess_api.post(_moves(ticket), {"version": 1, "column": target.pk, "note": "On it"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["move"]["to_column"] == target.pk and body["move"]["actor"]["username"] == "tess"
    assert body["ticket"]["version"] == 2 and response["ETag"] == '"2"'
    assert Move.objects.filter(ticket=ticket).count() == 2


def test_a_move_to_where_the_ticket_already_is_saves_nothing(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    response = tess_api.post(_moves(ticket), {"version": 1, "column": ticket.column_id})
    assert response.status_code == 200 and response.json()["move"] is None
    assert Move.objects.filter(ticket=ticket).count() == 1


def test_a_criterion_escalates_to_another_board(desk, both_users, ticket_factory):
    ticket = ticket_factory(column="In progress")
    onsite = Criterion.objects.get(name="Needs onsite visit")
    response = Api(make_token(both_users)).post(_moves(ticket), {"version": 1, "criterion": onsite.pk})
    assert response.status_code == 201, response.content
    ticket.refresh_from_db()
    assert ticket.board == desk.support and response.json()["move"]["criterion_name"] == "Needs onsite visit"


def test_a_stale_version_is_409_naming_who_moved_the_ticket(desk, tier1, both_users, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    in_progress = desk.triage.columns.get(name="In progress").pk
    Api(make_token(both_users)).post(_moves(ticket), {"version": 1, "column": in_progress})

    body = problem(
        tess_api.post(_moves(ticket), {"version": 1, "column": ticket.column_id}),
        409,
        "conflict",
    )
    assert "Alex Both" in body["detail"] and body["moved_by"] == {
        "id": both_users.pk,
        "username": "alex",
        "name": "Alex Both",
    }
    assert body["current_version"] == 2 and body["column"] == in_progress
    assert Move.objects.filter(ticket=ticket).count() == 2


def test_the_version_is_required(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    body = problem(tess_api.post(_moves(ticket), {"column": ticket.column_id}), 400, "invalid")
    assert "version" in body["errors"]


def test_moves_the_door_refuses_are_422(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    support_column = desk.support.columns.first()
    body = problem(tess_api.post(_moves(ticket), {"version": 1, "column": support_column.pk}), 422, "move_not_allowed")
    assert "needs a criterion" in body["detail"]
    time_limit = Criterion.objects.get(name="Tier 1 time limit")
    problem(tess_api.post(_moves(ticket), {"version": 1, "criterion": time_limit.pk}), 422, "move_not_allowed")
    onsite_complete = Criterion.objects.get(name="Onsite complete")  # applies from Support only
    problem(tess_api.post(_moves(ticket), {"version": 1, "criterion": onsite_complete.pk}), 422, "move_not_allowed")
    assert Move.objects.filter(ticket=ticket).count() == 1


def test_bad_move_bodies_are_400(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory(column="New")
    for data in [
        {"version": 1},
        {"version": 1, "column": ticket.column_id, "criterion": 1},
        {"version": 0, "column": ticket.column_id},
        {"version": "1; drop", "column": ticket.column_id},
        {"version": 1, "column": 10**30},
        {"version": 1, "column": 999999},
        {"version": 1, "criterion": 999999},
        [1, 2],
    ]:
        problem(tess_api.post(_moves(ticket), data), 400, "invalid")
    assert Move.objects.filter(ticket=ticket).count() == 1


def test_notes_list_and_add(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory()
    url = reverse("api:ticket_notes", args=[ticket.pk])
    response = tess_api.post(url, {"body": "Called the user <b>back</b>", "internal": False, "minutes_worked": 15})
    assert response.status_code == 201, response.content
    note = Note.objects.get()
    assert (note.author, note.internal, note.minutes_worked) == (tier1, False, 15)
    listed = tess_api.get(url).json()
    assert [(n["body"], n["author"]["username"]) for n in listed] == [("Called the user <b>back</b>", "tess")]


def test_bad_notes_are_400(desk, tier1, ticket_factory, tess_api):
    ticket = ticket_factory()
    url = reverse("api:ticket_notes", args=[ticket.pk])
    for data in [{}, {"body": ""}, {"body": "x" * 20001}, {"body": "ok", "minutes_worked": -1}, {"body": "a\x00"}]:
        problem(tess_api.post(url, data), 400, "invalid")
    assert not Note.objects.exists()


def test_a_conflict_with_the_scheduler_says_so(desk, manager, ticket_factory, morgan_api):
    ticket = ticket_factory(column="New", now=NOW)
    with time_machine.travel(NOW + timedelta(minutes=31), tick=False):
        assert sweep_once() == 1  # the Tier 1 time limit fired: Triage → Support
    body = problem(morgan_api.post(_moves(ticket), {"version": 1, "column": ticket.column_id}), 409, "conflict")
    assert body["moved_by"] is None and body["moved_by_scheduler"] is True
    assert body["board"] == "support" and body["current_version"] == 2


def test_a_requesters_note_names_them_in_the_api(desk, tess_api):
    from requesters import services as requesters
    from requesters.models import RequesterTicket

    ticket = requesters.open_request(
        board=desk.triage,
        channel=RequesterTicket.Channel.EMAIL,
        name="Pat Requester",
        email="pat@northwind.example",
        subject="Printer jams",
        text="Tray 2.",
        now=timezone.now(),
    )
    requesters.add_reply(
        ticket,
        text="By the door.",
        via=RequesterTicket.Channel.EMAIL,
        sender="pat@northwind.example",
        sender_name="Pat Requester",
        now=timezone.now(),
    )
    tess_api.post(reverse("api:ticket_notes", args=[ticket.pk]), {"body": "On my way", "internal": False})

    listed = tess_api.get(reverse("api:ticket_notes", args=[ticket.pk])).json()

    reply, ours = listed[-2:]
    assert (reply["author"], reply["author_name"], reply["from_requester"]) == (None, "Pat Requester", True)
    assert (ours["author"]["username"], ours["author_name"], ours["from_requester"]) == ("tess", "Tess Tier-One", False)
