"""Following a ticket, escalating by hand, resolving with a note, reopening, and the resolved list."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from boards.models import Note, Ticket, Watch
from routing import services
from routing.models import Move
from tests.boards.html import find
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}


# --- Follow -------------------------------------------------------------------------------


def test_any_technician_can_follow_a_ticket_and_then_open_it(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2, title="Core switch replacement")
    client.force_login(tier1)  # works Triage only
    url = reverse("ticket", args=[ticket.pk])
    assert client.get(url).status_code == 404

    response = client.post(reverse("ticket_follow", args=[ticket.pk]), {"follow": "1"})

    assert response.status_code == 302
    assert Watch.objects.filter(ticket=ticket, user=tier1).exists()
    page = client.get(url)
    assert page.status_code == 200
    assert "Read only" in page.content.decode()
    # Following opens it, not changes it.
    target = desk.support.columns.get(name="In progress")
    move = client.post(reverse("ticket_move", args=[ticket.pk]), {"column": target.pk, "version": ticket.version})
    assert move.status_code == 403


def test_unfollow_and_follow_need_a_post(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    assert client.get(reverse("ticket_follow", args=[ticket.pk])).status_code == 405
    client.post(reverse("ticket_follow", args=[ticket.pk]), {"follow": "1"})
    client.post(reverse("ticket_follow", args=[ticket.pk]), {"follow": "0"})
    assert not Watch.objects.exists()
    assert client.post(reverse("ticket_follow", args=[999999]), {"follow": "1"}).status_code == 404


def test_only_technicians_and_managers_may_follow(client, desk, ticket_factory):
    from django.contrib.auth.models import User

    ticket = ticket_factory()
    client.force_login(User.objects.create_user("desk-less", password="x"))
    assert client.post(reverse("ticket_follow", args=[ticket.pk]), {"follow": "1"}).status_code == 403
    assert not Watch.objects.exists()


def test_a_read_only_card_offers_follow_and_a_followed_one_opens(client, desk, tier1, ticket_factory):
    other = ticket_factory(board=desk.support, tier=2, title="Not mine")
    followed = ticket_factory(board=desk.support, tier=2, title="Followed one")
    Watch.objects.create(ticket=followed, user=tier1)
    client.force_login(tier1)

    body = client.get(reverse("board", args=["support"])).content.decode()

    other_card = body.split(f'id="ticket-{other.pk}"')[1].split("</article>")[0]
    followed_card = body.split(f'id="ticket-{followed.pk}"')[1].split("</article>")[0]
    assert find(other_card, "form", class_="card-follow") and not find(other_card, "a", class_="card-title")
    assert find(followed_card, "a", class_="card-title")["href"] == f"/tickets/{followed.pk}/"


# --- Escalating by hand ---------------------------------------------------------------------


def test_escalating_by_hand_follows_the_ticket_so_it_stays_openable(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Printer on fire")
    client.force_login(tier1)
    beyond = desk.criteria["Beyond this tier"]

    client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]),
        {"criterion": beyond.pk, "version": ticket.version, "note": "Over my head"},
    )

    ticket.refresh_from_db()
    assert ticket.board == desk.support
    assert Watch.objects.filter(ticket=ticket, user=tier1).exists()
    assert client.get(reverse("ticket", args=[ticket.pk])).status_code == 200
    home = client.get(reverse("home")).content.decode()
    followed = home.split('id="followed-heading"')[1]
    assert f'id="followed-ticket-{ticket.pk}"' in followed


def test_needs_onsite_by_hand_ticks_the_fact_and_lands_in_the_onsite_column(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="In progress")
    client.force_login(tier1)
    onsite = desk.criteria["Needs onsite visit"]

    client.post(
        reverse("ticket_criteria", args=[ticket.pk, "escalate"]), {"criterion": onsite.pk, "version": ticket.version}
    )

    ticket.refresh_from_db()
    assert ticket.needs_onsite
    assert (ticket.board.slug, ticket.column.name, ticket.tier) == ("support", "Scheduled / Onsite", 2)


def test_a_stale_escalation_changes_nothing(client, desk, tier1, ticket_factory):
    ticket = ticket_factory(column="In progress")
    client.force_login(tier1)
    onsite = desk.criteria["Needs onsite visit"]

    stale = ticket.version + 1
    client.post(reverse("ticket_criteria", args=[ticket.pk, "escalate"]), {"criterion": onsite.pk, "version": stale})

    ticket.refresh_from_db()
    assert not ticket.needs_onsite and ticket.board == desk.triage
    assert not Watch.objects.exists()


# --- Home -----------------------------------------------------------------------------------


def test_my_tickets_lists_only_boards_i_work_and_the_rest_are_followed(client, desk, tier1, ticket_factory):
    here = ticket_factory(assignee=tier1, title="Here")
    with time_machine.travel(NOW, tick=False):
        gone = ticket_factory(assignee=tier1, title="Gone to Support", now=NOW)
    services.sweep(NOW + timedelta(minutes=31))  # the scheduler escalates it; it keeps its assignee
    resolved = ticket_factory(title="Done already")
    Watch.objects.create(ticket=resolved, user=tier1)
    services.move_ticket(resolved, actor=tier1, expected_version=1, to_column=desk.triage.columns.get(name="Resolved"))
    client.force_login(tier1)

    body = client.get(reverse("home")).content.decode()

    mine, followed = body.split('id="followed-heading"')
    assert f'id="my-ticket-{here.pk}"' in mine and f"my-ticket-{gone.pk}" not in mine
    assert f'id="followed-ticket-{gone.pk}"' in followed and "Assigned to you" in followed
    assert f"followed-ticket-{resolved.pk}" not in followed


# --- Resolve and reopen ------------------------------------------------------------------------


@pytest.mark.parametrize("internal", [True, False])
def test_resolve_with_a_resolution_note(client, desk, tier1, ticket_factory, internal):
    ticket = ticket_factory(column="In progress")
    client.force_login(tier1)
    data = {"version": ticket.version, "note": "Replaced the toner."}
    if internal:
        data["internal"] = "1"

    client.post(reverse("ticket_resolve", args=[ticket.pk]), data)

    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    note = Note.objects.get(ticket=ticket)
    assert (note.body, note.internal, note.resolution, note.author) == ("Replaced the toner.", internal, True, tier1)
    drawer = client.get(reverse("ticket", args=[ticket.pk]), headers=ON_TRIAGE).content.decode()
    assert "Resolution" in drawer and "Replaced the toner." in drawer
    assert "Reopen on Triage" in drawer


def test_resolve_without_a_note_writes_no_note(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client.force_login(tier1)
    client.post(reverse("ticket_resolve", args=[ticket.pk]), {"version": ticket.version, "note": "  "})
    assert Ticket.objects.get(pk=ticket.pk).resolved_at is not None
    assert not Note.objects.exists()


def test_reopen_goes_back_through_the_move_service_to_the_column_it_was_resolved_from(
    client, desk, tier1, ticket_factory
):
    ticket = ticket_factory(column="In progress")
    client.force_login(tier1)
    client.post(reverse("ticket_resolve", args=[ticket.pk]), {"version": ticket.version})
    ticket.refresh_from_db()

    response = client.post(reverse("ticket_reopen", args=[ticket.pk]), {"version": ticket.version})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.resolved_at is None
    assert (ticket.board.slug, ticket.column.name) == ("triage", "In progress")
    assert ticket.deadline_at is not None, "its clock runs again"
    move = Move.objects.latest("pk")
    assert (move.from_column.name, move.to_column.name, move.actor) == ("Resolved", "In progress", tier1)


def test_reopen_on_a_board_you_do_not_work_is_refused(client, desk, tier1, tier2, ticket_factory):
    ticket = ticket_factory(board=desk.support, tier=2)
    services.move_ticket(ticket, actor=tier2, expected_version=1, to_column=desk.support.columns.get(name="Resolved"))
    client.force_login(tier1)
    assert client.post(reverse("ticket_reopen", args=[ticket.pk]), {"version": 2}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).resolved_at is not None


# --- All resolved tickets ------------------------------------------------------------------------


def test_all_resolved_tickets_filters_by_text_assignee_priority_and_date(client, desk, tier1, ticket_factory):
    tom = make_user("tom", boards=[desk.triage])
    done = desk.triage.columns.get(name="Resolved")
    made = {}
    for title, assignee, priority, day in [
        ("Printer jam", tier1, 1, 1),
        ("Printer toner", tom, 3, 2),
        ("VPN drops", tier1, 3, 3),
    ]:
        with time_machine.travel(NOW + timedelta(days=day), tick=False):
            t = ticket_factory(title=title, assignee=assignee, priority=priority)
            services.move_ticket(t, actor=tier1, expected_version=1, to_column=done)
        made[title] = t
    client.force_login(tier1)
    url = reverse("board_done", args=["triage"])

    def shown(**query):
        body = client.get(url, query).content.decode()
        return {title for title, t in made.items() if f'href="/tickets/{t.pk}/"' in body}

    assert shown() == set(made)
    assert shown(q="printer") == {"Printer jam", "Printer toner"}
    assert shown(q="printer", assignee=tom.pk) == {"Printer toner"}
    assert shown(priority=1) == {"Printer jam"}
    assert shown(since="2026-03-04") == {"Printer toner", "VPN drops"}
    assert shown(since="2026-03-04", until="2026-03-04") == {"Printer toner"}
    assert shown(q=f"#{made['VPN drops'].pk}") == {"VPN drops"}
    bad = client.get(url, {"since": "not a date"})
    assert bad.status_code == 200 and "Enter a valid date" in bad.content.decode()
