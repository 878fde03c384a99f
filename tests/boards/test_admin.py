"""Admin is where a manager lives: every page opens, and tickets move only through the door."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.urls import reverse

from boards.models import Client, Column, Note, Ticket
from intake.models import Alert
from requesters.models import InboundMessage, OutboundMessage, RequesterTicket, UnreadableMessage
from routing.models import Move
from tests.factories import PASSWORD, make_user

# Models a manager may list but never add through admin (login lockouts: helpdesk/admin.py).
NO_ADD = {Move, Group, AccessAttempt, Alert, InboundMessage, UnreadableMessage, OutboundMessage, RequesterTicket}


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def manager_client(client, manager):
    assert manager.is_staff and not manager.is_superuser
    client.force_login(manager)
    return client


@pytest.fixture
def populated(desk, manager, tier1, ticket_factory):
    """One of everything, so change pages have an object to open."""
    client_org = Client.objects.create(name="Harbor Dental Group")
    ticket = ticket_factory(title="Printer offline", client=client_org, actor=tier1)
    Note.objects.create(ticket=ticket, author=tier1, body="Power-cycled it.")
    return ticket


def test_manager_opens_every_changelist_add_and_change_page(manager_client, populated):
    opened = []
    for model in admin.site._registry:
        assert manager_client.get(_url(model, "changelist")).status_code == 200, model
        expected_add = 403 if model in NO_ADD else 200
        assert manager_client.get(_url(model, "add")).status_code == expected_add, model
        obj = model._default_manager.order_by("pk").first()
        if obj is not None and not (model is User and obj.is_superuser):
            assert manager_client.get(_url(model, "change", obj.pk)).status_code == 200, model
            opened.append(model)
    assert {Ticket, Move, Column, Note, User} <= set(opened)


def test_changelist_filters_and_search_answer(manager_client, populated, desk):
    url = _url(Ticket, "changelist")
    for query in [
        {"board__id__exact": desk.triage.pk},
        {"board__id__exact": desk.triage.pk, "column": desk.triage.entry_column().pk},
        {"priority__exact": 3, "tier": 1, "state": "open", "assignee__isnull": "True"},
        {"q": "printer"},
        {"q": f"#{populated.pk}"},
    ]:
        response = manager_client.get(url, query)
        assert response.status_code == 200
        assert "Printer offline" in response.text, query


def test_technician_gets_no_admin(client, tier1):
    client.force_login(tier1)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert client.get(_url(Ticket, "changelist")).status_code == 302


def test_anonymous_admin_redirects_to_a_login(client, db):
    response = client.get(_url(Ticket, "changelist"))
    assert response.status_code == 302
    assert "login" in response.url


def test_manager_can_log_in_to_admin_with_a_password(client, manager):
    response = client.post(
        reverse("admin:login"), {"username": manager.username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_ticket_location_is_read_only_on_change(manager_client, populated, desk):
    ticket = populated
    page = manager_client.get(_url(Ticket, "change", ticket.pk)).text
    assert 'name="title"' in page
    for name in ("board", "column", "tier"):
        assert f'name="{name}"' not in page

    # Posting a location anyway changes nothing but the editable fields.
    support = desk.support
    response = manager_client.post(
        _url(Ticket, "change", ticket.pk),
        {
            **_ticket_form(ticket),
            "title": "Printer offline on 2nd floor",
            "board": support.pk,
            "column": support.entry_column().pk,
            "tier": 3,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    ticket.refresh_from_db()
    assert ticket.title == "Printer offline on 2nd floor"
    assert (ticket.board, ticket.tier) == (desk.triage, 1)
    assert ticket.moves.count() == 1


def test_adding_a_ticket_goes_through_open_ticket(manager_client, manager, desk):
    response = manager_client.post(
        _url(Ticket, "add"),
        {
            **_blank_ticket_form(),
            "title": "Outlook keeps asking for password",
            "board": desk.triage.pk,
            "column": "",
            "tier": 1,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Outlook keeps asking for password")
    assert ticket.column == desk.triage.entry_column()
    assert ticket.deadline_at is not None  # the Tier 1 clock started
    opened = ticket.moves.get()
    assert (opened.actor, opened.note) == (manager, "Opened")


def test_adding_a_ticket_that_needs_onsite_escalates_at_once(manager_client, desk):
    manager_client.post(
        _url(Ticket, "add"),
        {
            **_blank_ticket_form(),
            "title": "Replace the switch in the closet",
            "board": desk.triage.pk,
            "tier": 1,
            "needs_onsite": "on",
        },
    )
    ticket = Ticket.objects.get(title="Replace the switch in the closet")
    assert (ticket.board, ticket.tier) == (desk.support, 2)
    assert ticket.moves.latest("pk").criterion.name == "Needs onsite visit"


def test_adding_a_ticket_with_another_boards_column_is_refused(manager_client, desk):
    response = manager_client.post(
        _url(Ticket, "add"),
        {
            **_blank_ticket_form(),
            "title": "Misfiled",
            "board": desk.triage.pk,
            "column": desk.support.entry_column().pk,
            "tier": 1,
        },
    )
    assert response.status_code == 200
    assert "is not a column of the Triage board" in response.text
    assert not Ticket.objects.filter(title="Misfiled").exists()


def test_requiring_a_skill_in_admin_fires_the_condition(manager_client, populated, desk):
    ticket = populated
    firewall = _skill("Firewall")
    response = manager_client.post(
        _url(Ticket, "change", ticket.pk), {**_ticket_form(ticket), "required_skills": [firewall.pk]}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.board == desk.support
    assert ticket.moves.latest("pk").criterion.name == "Needs a specialized skill or tool"


def test_resolve_action_moves_through_the_door(manager_client, manager, populated, desk):
    ticket = populated
    response = manager_client.post(
        _url(Ticket, "changelist"), {"action": "resolve_tickets", "_selected_action": [ticket.pk]}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.column.is_done and ticket.resolved_at is not None
    assert ticket.deadline_at is None
    move = ticket.moves.latest("pk")
    assert (move.actor, move.to_column) == (manager, ticket.column)

    manager_client.post(_url(Ticket, "changelist"), {"action": "reopen_tickets", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.column == desk.triage.entry_column() and ticket.resolved_at is None
    assert ticket.moves.count() == 3


def test_tickets_cannot_be_deleted_in_admin(manager_client, populated):
    assert manager_client.get(_url(Ticket, "delete", populated.pk)).status_code == 403


def test_timeline_inline_is_read_only(manager_client, populated):
    page = manager_client.get(_url(Ticket, "change", populated.pk)).text
    assert "Timeline" in page and "Opened" in page
    assert 'name="moves-0-note"' not in page  # shown, not editable
    assert "Add another move" not in page


def test_moves_are_read_only_even_for_a_superuser(client, populated):
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(root)
    move = populated.moves.get()
    assert client.get(_url(Move, "changelist")).status_code == 200
    assert client.get(_url(Move, "change", move.pk)).status_code == 200  # view only
    assert client.get(_url(Move, "add")).status_code == 403
    assert client.post(_url(Move, "change", move.pk), {"note": "rewritten"}).status_code == 403
    assert client.get(_url(Move, "delete", move.pk)).status_code == 403
    move.refresh_from_db()
    assert move.note == "Opened"


def test_board_page_edits_columns_inline_in_order(manager_client, desk):
    triage = desk.triage
    page = manager_client.get(_url(type(triage), "change", triage.pk)).text
    names = [c.name for c in triage.columns.order_by("position")]
    positions = [page.index(f'value="{name}"') for name in names]
    assert positions == sorted(positions)
    assert 'name="columns-0-position"' in page


def test_column_category_is_locked_while_it_holds_open_tickets(manager_client, populated, desk):
    column = populated.column
    response = manager_client.post(
        _url(Column, "change", column.pk),
        {"name": column.name, "position": column.position, "category": Column.Category.WAITING, "wip_limit": ""},
    )
    assert response.status_code == 200
    assert "open ticket(s) sit in this column" in response.text
    column.refresh_from_db()
    assert column.category == Column.Category.NEW


def test_manager_cannot_make_anyone_superuser(manager_client, manager, tier1):
    page = manager_client.get(_url(User, "change", tier1.pk)).text
    assert 'name="is_superuser"' not in page
    assert 'name="technician-0-tier"' in page  # the technician inline
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    assert manager_client.post(_url(User, "change", root.pk), {"username": "root2"}).status_code == 403


def test_adding_a_person_with_a_technician_profile_makes_them_a_technician(manager_client, desk):
    response = manager_client.post(
        _url(User, "add"),
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "a-long-demo-passphrase",
            "password2": "a-long-demo-passphrase",
            "technician-TOTAL_FORMS": 1,
            "technician-INITIAL_FORMS": 0,
            "technician-MIN_NUM_FORMS": 0,
            "technician-MAX_NUM_FORMS": 1,
            "technician-0-tier": 2,
            "technician-0-boards": [desk.support.pk],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    newbie = User.objects.get(username="newbie")
    assert newbie.technician.tier == 2
    assert list(newbie.technician.boards.all()) == [desk.support]
    assert list(newbie.groups.values_list("name", flat=True)) == ["Technicians"]
    assert not newbie.is_staff


def test_a_board_without_columns_cannot_take_a_new_ticket(manager_client, desk):
    from boards.models import Board

    empty = Board.objects.create(name="Projects", slug="projects")
    response = manager_client.post(
        _url(Ticket, "add"), {**_blank_ticket_form(), "title": "Nowhere to go", "board": empty.pk, "tier": 1}
    )
    assert response.status_code == 200
    assert "The Projects board has no columns yet" in response.text


def test_manager_role_is_staff_and_technician_role_is_not(desk):
    from boards.models import MANAGERS_GROUP, TECHNICIANS_GROUP
    from boards.roles import assign_role

    person = make_user("casey")
    assign_role(person, MANAGERS_GROUP)
    person.refresh_from_db()
    assert person.is_staff and list(person.groups.values_list("name", flat=True)) == [MANAGERS_GROUP]
    assert person.has_perm("routing.change_criterion") and not person.has_perm("routing.change_move")

    assign_role(person, TECHNICIANS_GROUP)
    person = User.objects.get(pk=person.pk)
    assert not person.is_staff and list(person.groups.values_list("name", flat=True)) == [TECHNICIANS_GROUP]
    assert person.has_perm("boards.change_ticket") and not person.has_perm("routing.change_criterion")


# --- helpers -------------------------------------------------------------------


def _skill(name):
    from boards.models import Skill

    return Skill.objects.get(name=name)


def _blank_ticket_form() -> dict:
    return {
        "description": "",
        "priority": 3,
        "source": "phone",
        "client": "",
        "requester_name": "",
        "requester_email": "",
        "assignee": "",
        "column": "",
        **_inline_management("notes"),
        **_inline_management("moves"),
    }


def _ticket_form(ticket: Ticket) -> dict:
    data = {
        "title": ticket.title,
        "description": ticket.description,
        "priority": ticket.priority,
        "source": ticket.source,
        "client": ticket.client_id or "",
        "requester_name": ticket.requester_name,
        "requester_email": ticket.requester_email,
        "assignee": ticket.assignee_id or "",
        "required_skills": [s.pk for s in ticket.required_skills.all()],
        **_inline_management("notes", initial=ticket.notes.count()),
        **_inline_management("moves", initial=ticket.moves.count()),
    }
    for i, note in enumerate(ticket.notes.all()):
        data.update(
            {
                f"notes-{i}-id": note.pk,
                f"notes-{i}-ticket": ticket.pk,
                f"notes-{i}-body": note.body,
                f"notes-{i}-minutes_worked": note.minutes_worked,
            }
        )
        if note.internal:
            data[f"notes-{i}-internal"] = "on"
    # What the browser sends back for the read-only timeline: just the ids.
    for i, move in enumerate(ticket.moves.all()):
        data.update({f"moves-{i}-id": move.pk, f"moves-{i}-ticket": ticket.pk})
    if ticket.needs_onsite:
        data["needs_onsite"] = "on"
    return data


def _inline_management(prefix: str, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": initial,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
