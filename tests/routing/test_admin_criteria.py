"""Managers tune criteria in admin: clear messages for bad ones, and deadlines follow every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.forms.models import model_to_dict
from django.urls import reverse

from routing import services
from routing.models import Criterion, CriterionChange, Direction

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANGELIST = reverse("admin:routing_criterion_changelist")
ADD = reverse("admin:routing_criterion_add")


def _change_url(criterion: Criterion) -> str:
    return reverse("admin:routing_criterion_change", args=[criterion.pk])


def _form(criterion: Criterion | None = None, **changes) -> dict:
    data = model_to_dict(criterion) if criterion else {}
    data.pop("id", None)
    data.update(changes)
    data = {k: ("" if v is None else v) for k, v in data.items()}
    if data.get("active") is False:
        data.pop("active")  # an unticked checkbox is simply absent
    elif data.get("active") is True:
        data["active"] = "on"
    return data


def _new(**fields) -> dict:
    base = {
        "name": "Test criterion",
        "description": "",
        "direction": Direction.ESCALATE,
        "trigger": Criterion.Trigger.MANUAL,
        "from_board": "",
        "from_tier": "",
        "to_board": "",
        "to_tier": "",
        "to_column": "",
        "time_limit_minutes": "",
        "condition": "",
        "active": "on",
        "position": 0,
    }
    return {**base, **fields}


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"trigger": "time", "to_tier": 2},
            "time_limit_minutes",
            "A time criterion needs a time limit of at least one minute.",
        ),
        ({"trigger": "manual"}, "to_board", "A criterion must change the board, the tier, or both."),
        (
            {"trigger": "manual", "from_board": "triage", "to_board": "triage"},
            "to_board",
            "Moving to the same board without a tier change changes nothing.",
        ),
        (
            {"trigger": "condition", "to_tier": 2},
            "condition",
            "A condition criterion must name its condition.",
        ),
        (
            {"trigger": "manual", "to_tier": 2, "time_limit_minutes": 30},
            "time_limit_minutes",
            "Only a time criterion has a time limit.",
        ),
    ],
)
def test_add_form_explains_what_is_wrong(manager_client, desk, fields, field, message):
    fields = {k: (desk.boards[v].pk if k.endswith("board") else v) for k, v in fields.items()}
    response = manager_client.post(ADD, _new(**fields))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors[field] == [message]
    assert message in response.text
    assert not Criterion.objects.filter(name="Test criterion").exists()


def test_a_valid_criterion_is_saved(manager_client, desk):
    response = manager_client.post(
        ADD, _new(trigger="manual", from_board=desk.noc.pk, to_board=desk.support.pk, to_tier=2)
    )
    assert response.status_code == 302
    assert Criterion.objects.get(name="Test criterion").to_board == desk.support


def test_editing_the_limit_moves_open_tickets_deadlines(manager_client, ticket_factory, desk):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    assert ticket.deadline_at == NOW + timedelta(minutes=30)
    limit = desk.criteria["Tier 1 time limit"]

    response = manager_client.post(_change_url(limit), _form(limit, time_limit_minutes=45))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.deadline_at == NOW + timedelta(minutes=45)
    assert ticket.deadline_criterion == limit


def test_list_editable_changes_recompute_once_per_request(manager_client, ticket_factory, desk, monkeypatch):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    limit = desk.criteria["Tier 1 time limit"]
    onsite = desk.criteria["Needs onsite visit"]
    calls = []
    real = services.recompute_deadlines
    monkeypatch.setattr(services, "recompute_deadlines", lambda: calls.append(1) or real())

    rows = [(limit, {"time_limit_minutes": 20, "active": "on"}), (onsite, {"active": "on"})]
    data = {
        "form-TOTAL_FORMS": len(rows),
        "form-INITIAL_FORMS": len(rows),
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for i, (criterion, values) in enumerate(rows):
        data[f"form-{i}-id"] = criterion.pk
        data[f"form-{i}-position"] = criterion.position + 1
        data[f"form-{i}-time_limit_minutes"] = ""
        data.update({f"form-{i}-{k}": v for k, v in values.items()})
    response = manager_client.post(CHANGELIST, data)
    assert response.status_code == 302, response.context["cl"].formset.errors if response.context else ""
    assert len(calls) == 1
    ticket.refresh_from_db()
    assert ticket.deadline_at == NOW + timedelta(minutes=20)


def test_list_editable_refuses_a_limit_on_a_manual_criterion(manager_client, desk):
    onsite = desk.criteria["Beyond this tier"]
    data = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 1,
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "form-0-id": onsite.pk,
        "form-0-position": onsite.position,
        "form-0-time_limit_minutes": 10,
        "form-0-active": "on",
        "_save": "Save",
    }
    response = manager_client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert "Only a time criterion has a time limit." in response.text
    onsite.refresh_from_db()
    assert onsite.time_limit_minutes is None


def test_deactivating_in_the_changelist_clears_deadlines(manager_client, ticket_factory, desk):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    limit = desk.criteria["Tier 1 time limit"]
    data = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 1,
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "form-0-id": limit.pk,
        "form-0-position": limit.position,
        "form-0-time_limit_minutes": 30,
        "_save": "Save",
    }  # no form-0-active: unticked
    assert manager_client.post(CHANGELIST, data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.deadline_at is None


def test_deleting_a_time_criterion_clears_deadlines(manager_client, ticket_factory, desk):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    limit = desk.criteria["Tier 1 time limit"]
    response = manager_client.post(reverse("admin:routing_criterion_delete", args=[limit.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Criterion.objects.filter(pk=limit.pk).exists()
    ticket.refresh_from_db()
    assert (ticket.deadline_at, ticket.deadline_criterion) == (None, None)


def test_bulk_delete_action_recomputes(manager_client, ticket_factory, desk):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory()
    shorter = Criterion.objects.create(
        name="Quick escalation",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.triage,
        to_board=desk.support,
        to_tier=2,
        time_limit_minutes=10,
    )
    services.recompute_deadlines()
    ticket.refresh_from_db()
    assert ticket.deadline_at == NOW + timedelta(minutes=10)

    response = manager_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [shorter.pk], "post": "yes"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.deadline_at == NOW + timedelta(minutes=30)


def test_adding_a_time_criterion_in_admin_sets_deadlines(manager_client, ticket_factory, desk):
    with time_machine.travel(NOW, tick=False):
        ticket = ticket_factory(board=desk.noc)
    assert ticket.deadline_at is None
    response = manager_client.post(
        ADD,
        _new(trigger="time", from_board=desk.noc.pk, to_board=desk.support.pk, to_tier=2, time_limit_minutes=60),
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.deadline_at == NOW + timedelta(minutes=60)


def test_an_admin_edit_goes_through_the_services_and_lands_in_the_history(manager_client, manager, desk):
    limit = desk.criteria["Tier 1 time limit"]
    response = manager_client.post(_change_url(limit), _form(limit, time_limit_minutes=45))
    assert response.status_code == 302

    change = CriterionChange.objects.get(criterion=limit)
    assert change.changed_by == manager and change.changes == {"time_limit_minutes": [30, 45]}
    page = manager_client.get(_change_url(limit)).content.decode()
    assert "time_limit_minutes: 30 → 45" in page and "Morgan Manager" in page


def test_a_calendar_board_gets_the_same_deadline_from_admin_as_from_the_shell(manager_client, ticket_factory, desk):
    from calendars.seed import seed_calendars

    seed_calendars({"triage": desk.triage})
    friday_evening = datetime(2026, 3, 6, 17, 50, tzinfo=UTC)
    with time_machine.travel(friday_evening, tick=False):
        ticket = ticket_factory()
    limit = desk.criteria["Tier 1 time limit"]
    manager_client.post(_change_url(limit), _form(limit, time_limit_minutes=45))
    ticket.refresh_from_db()
    # Ten minutes on Friday, 35 on Monday from 08:00.
    assert ticket.deadline_at == datetime(2026, 3, 9, 8, 35, tzinfo=UTC)

    limit.refresh_from_db()
    limit.time_limit_minutes = 60
    services.save_criterion(limit, actor=None)  # the shell (and any API) call the same service
    ticket.refresh_from_db()
    assert ticket.deadline_at == datetime(2026, 3, 9, 8, 50, tzinfo=UTC)
