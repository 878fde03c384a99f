"""The requester's status page: the public timeline only, replies, mark solved, a revocable link;
and the technician's side of it (attachment downloads, the revoke button)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from boards.models import Note, Ticket
from boards.services import add_note, resolve_ticket, update_ticket
from requesters import services
from requesters.models import Attachment, RequesterNote, RequesterTicket
from requesters.parsing import Part
from routing.models import Move
from routing.services import move_ticket
from tests.boards.html import find_all
from tests.factories import PASSWORD


@pytest.fixture
def request_ticket(desk) -> Ticket:
    return services.open_request(
        board=desk.triage,
        channel=RequesterTicket.Channel.FORM,
        name="Pat Requester",
        email="pat@northwind.example",
        subject="VPN drops every hour",
        text="Since Monday.",
        attachments=[Part("trace.txt", "text/plain", b"<script>alert(1)</script>")],
        now=timezone.now(),
    )


@pytest.fixture
def link(request_ticket) -> RequesterTicket:
    return RequesterTicket.objects.get(ticket=request_ticket)


def status_path(link: RequesterTicket) -> str:
    return reverse("request_status", args=[services.status_token(link)])


def test_the_status_page_shows_the_public_timeline_and_never_an_internal_note(client, request_ticket, link, tier1):
    add_note(request_ticket, author=tier1, body="Rebooted the concentrator; try again?", internal=False)
    add_note(request_ticket, author=tier1, body="SECRET: the firewall rule was mine", internal=True)

    page = client.get(status_path(link))

    assert page.status_code == 200
    text = page.content.decode()
    assert "VPN drops every hour" in text
    assert "Since Monday." in text
    assert "Rebooted the concentrator; try again?" in text
    assert "Tess from the service desk" in text
    assert "SECRET" not in text
    assert "firewall" not in text
    # Nor the desk's inner workings: boards, columns, tiers.
    assert "Triage" not in text


def test_a_reply_on_the_status_page_is_a_customer_note_not_mailed_back(
    client, request_ticket, link, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "Still drops."})

    assert response.status_code == 302
    note = Note.objects.get(ticket=request_ticket)
    assert (note.internal, note.author) == (False, None)
    assert RequesterNote.objects.filter(note=note).exists()
    assert mail.outbox == []
    page = client.get(response.url)
    assert "You wrote" in page.content.decode()
    assert "Still drops." in page.content.decode()
    assert "Your reply was added." in page.content.decode()


def test_a_reply_to_a_resolved_ticket_reopens_it(client, request_ticket, link, tier1):
    resolve_ticket(request_ticket, actor=tier1, expected_version=None)

    client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "It is back."})

    request_ticket.refresh_from_db()
    assert request_ticket.is_open
    last = Move.objects.filter(ticket=request_ticket).order_by("-pk").first()
    assert last.note == "Reopened: the requester replied on the status page."
    assert last.from_column.is_done


def test_a_reply_on_the_status_page_brings_a_ticket_waiting_on_the_customer_back_to_work(
    client, request_ticket, link, tier1, django_capture_on_commit_callbacks
):
    update_ticket(request_ticket, actor=tier1, expected_version=None, assignee=tier1)
    waiting = request_ticket.board.columns.get(name="Waiting on customer")
    move_ticket(request_ticket.pk, actor=tier1, expected_version=None, to_column=waiting)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("request_reply", args=[services.status_token(link)]), {"body": "Tried it: still drops."}
        )

    request_ticket.refresh_from_db()
    assert request_ticket.column.name == "In progress"
    back = Move.objects.filter(ticket=request_ticket).order_by("-pk").first()
    assert (back.from_column, back.to_column, back.actor, back.note) == (
        waiting,
        request_ticket.column,
        None,
        "Back from “Waiting on customer”: the requester replied on the status page.",
    )
    [notice] = mail.outbox
    assert notice.to == ["tess@example.com"]
    assert notice.subject == (
        f"[Switchback] #{request_ticket.pk} back from Waiting on customer, Pat Requester replied: VPN drops every hour"
    )
    assert "Tried it: still drops." in notice.body
    page = client.get(response.url).content.decode()
    assert "Your reply was added." in page
    assert "open again" not in page  # it never was closed


def test_a_reply_on_the_status_page_to_a_ticket_being_worked_on_does_not_move_it(
    client, request_ticket, link, tier1, django_capture_on_commit_callbacks
):
    update_ticket(request_ticket, actor=tier1, expected_version=None, assignee=tier1)
    move_ticket(
        request_ticket.pk,
        actor=tier1,
        expected_version=None,
        to_column=request_ticket.board.columns.get(name="In progress"),
    )
    moves = Move.objects.filter(ticket=request_ticket).count()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "Any news?"})

    request_ticket.refresh_from_db()
    assert request_ticket.column.name == "In progress"
    assert Move.objects.filter(ticket=request_ticket).count() == moves
    assert mail.outbox == []


def test_a_reply_on_the_status_page_is_signed_with_the_requesters_name(client, request_ticket, link):
    client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "Still drops."})

    mark = RequesterNote.objects.get(note__ticket=request_ticket)
    assert (mark.name, mark.email, mark.display_name) == ("Pat Requester", "pat@northwind.example", "Pat Requester")


def test_a_colleagues_reply_is_named_on_the_status_page_not_called_you(client, request_ticket, link):
    services.add_reply(
        request_ticket, text="Same here.", via="email", sender="alex@northwind.example", now=timezone.now()
    )
    services.add_reply(request_ticket, text="Still drops.", via="form", sender=link.email, now=timezone.now())

    page = client.get(status_path(link)).content.decode()

    whats = [p["_text"] for p in find_all(page, "p", class_="event-what")]
    assert whats == ["You asked", "alex@northwind.example wrote", "You wrote"]


def test_an_empty_reply_is_refused_with_a_message(client, request_ticket, link):
    response = client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Note.objects.exists()


def test_the_requester_marks_it_solved_through_the_move_service(client, request_ticket, link):
    response = client.post(reverse("request_solved", args=[services.status_token(link)]))

    assert response.status_code == 302
    request_ticket.refresh_from_db()
    assert not request_ticket.is_open
    move = Move.objects.filter(ticket=request_ticket).order_by("-pk").first()
    assert (move.actor, move.note, move.to_column.is_done) == (
        None,
        "Marked solved by the requester on the status page.",
        True,
    )
    page = client.get(response.url).content.decode()
    assert "Solved" in page
    assert "It's solved" not in page  # no button once solved


def test_a_revoked_link_is_refused_and_a_new_one_works(client, link):
    old = status_path(link)
    services.revoke_link(link)

    assert client.get(old).status_code == 404
    assert client.post(old + "reply/", {"body": "hello?"}).status_code == 404
    assert client.post(old + "solved/").status_code == 404
    assert not Note.objects.exists()

    services.renew_link(link)
    assert client.get(old).status_code == 404  # the old one stays dead
    assert client.get(status_path(link)).status_code == 200


@pytest.mark.parametrize("token", ["escalate", "WzEsImFiYyJd:1tamper:bad", "x" * 300])
def test_a_forged_link_is_refused(client, request_ticket, token):
    response = client.get(reverse("request_status", args=[token]))

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_the_status_page_posts_need_csrf(request_ticket, link):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "hi"})

    assert response.status_code == 403
    assert not Note.objects.exists()


def test_the_status_page_answers_get_only(client, link):
    assert client.post(status_path(link)).status_code == 405


# --- The technician's side -----------------------------------------------------------------


def test_a_technician_of_the_board_downloads_an_attachment(client, request_ticket, tier1):
    client.login(username="tess", password=PASSWORD)
    attachment = Attachment.objects.get(ticket=request_ticket)

    response = client.get(reverse("requester_attachment", args=[attachment.pk]))

    assert response.status_code == 200
    assert response.content == b"<script>alert(1)</script>"
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''trace.txt"


def test_a_technician_of_another_board_gets_no_attachment(client, request_ticket, tier2):
    client.login(username="sam", password=PASSWORD)
    attachment = Attachment.objects.get(ticket=request_ticket)

    assert client.get(reverse("requester_attachment", args=[attachment.pk])).status_code == 404


def test_a_technician_of_the_board_revokes_the_link(client, request_ticket, link, tier1):
    client.login(username="tess", password=PASSWORD)

    response = client.post(reverse("requester_link_revoke", args=[request_ticket.pk]))

    assert response.status_code == 302
    assert client.get(status_path(link)).status_code == 404


def test_a_technician_of_another_board_cannot_revoke(client, request_ticket, link, tier2):
    client.login(username="sam", password=PASSWORD)

    assert client.post(reverse("requester_link_revoke", args=[request_ticket.pk])).status_code == 404
    link.refresh_from_db()
    assert not link.revoked


def test_the_status_page_is_never_cached_nor_indexed(client, link):
    response = client.get(status_path(link))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert b'<meta name="robots" content="noindex">' in response.content


def test_the_status_page_reads_the_same_number_of_queries_however_long_the_timeline(
    client, request_ticket, link, tier1, django_assert_max_num_queries
):
    add_note(request_ticket, author=tier1, body="First answer", internal=False)
    with django_assert_max_num_queries(20) as short:
        client.get(status_path(link))
    for n in range(10):
        add_note(request_ticket, author=tier1, body=f"Answer {n}", internal=False)
        services.add_reply(request_ticket, text=f"Reply {n}", via="form", sender=link.email, now=timezone.now())

    with django_assert_max_num_queries(len(short.captured_queries)):
        page = client.get(status_path(link))
    assert page.content.decode().count("You wrote") == 10


def test_the_technician_endpoints_refuse_the_wrong_method(client, request_ticket, tier1):
    client.login(username="tess", password=PASSWORD)
    attachment = Attachment.objects.get(ticket=request_ticket)

    assert client.post(reverse("requester_attachment", args=[attachment.pk])).status_code == 405
    assert client.get(reverse("requester_link_revoke", args=[request_ticket.pk])).status_code == 405
    assert client.get(reverse("requester_link_renew", args=[request_ticket.pk])).status_code == 405


def test_a_ticket_with_no_requester_has_no_link_to_revoke(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    Ticket.objects.filter(pk=ticket.pk).update(requester_email="")
    client.login(username="tess", password=PASSWORD)

    assert client.post(reverse("requester_link_revoke", args=[ticket.pk])).status_code == 404


def test_a_reply_leaves_a_ticket_waiting_on_someone_else_where_it_is(
    client, request_ticket, link, tier1, django_capture_on_commit_callbacks
):
    """“Waiting on vendor” or “Scheduled / Onsite” wait on others: the requester's “thanks” doesn't undo them."""
    vendor = request_ticket.board.columns.create(name="Waiting on vendor", category="waiting", position=9)
    assert not vendor.resumes_on_reply
    assert request_ticket.board.columns.get(name="Waiting on customer").resumes_on_reply  # the seed's
    move_ticket(request_ticket.pk, actor=tier1, expected_version=None, to_column=vendor)
    moves = Move.objects.filter(ticket=request_ticket).count()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("request_reply", args=[services.status_token(link)]), {"body": "Thanks, no rush."})

    request_ticket.refresh_from_db()
    assert request_ticket.column == vendor
    assert Move.objects.filter(ticket=request_ticket).count() == moves
    assert "Thanks, no rush." in request_ticket.notes.get(body__contains="no rush").body
