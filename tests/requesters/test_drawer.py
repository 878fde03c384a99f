"""The drawer's requester panel: the requester's files and the status link's switch, for the board's technicians."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from boards.models import Ticket
from boards.services import add_note
from requesters import services
from requesters.models import Attachment, RequesterTicket
from requesters.parsing import Part
from tests.boards.html import find_all
from tests.factories import PASSWORD

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_drawer_lists_the_files_and_offers_to_revoke_the_link(client, desk, tier1):
    ticket = services.open_request(
        board=desk.triage,
        channel=RequesterTicket.Channel.EMAIL,
        name="Pat",
        email="pat@northwind.example",
        subject="Screen flickers",
        text="",
        attachments=[Part("<b>clip</b>.mp4", "video/mp4", b"....")],
        now=timezone.now(),
    )
    client.login(username="tess", password=PASSWORD)

    drawer = client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    attachment = Attachment.objects.get(ticket=ticket)
    assert f'href="{reverse("requester_attachment", args=[attachment.pk])}"' in drawer
    assert "&lt;b&gt;clip&lt;/b&gt;.mp4" in drawer
    assert "Revoke the status link" in drawer

    services.revoke_link(RequesterTicket.objects.get(ticket=ticket))
    drawer = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert "Issue a new status link" in drawer


def test_a_ticket_without_a_requester_shows_no_panel(client, desk, tier1, ticket_factory):
    ticket = ticket_factory()
    Ticket.objects.filter(pk=ticket.pk).update(requester_email="", requester_name="")
    client.login(username="tess", password=PASSWORD)

    drawer = client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    assert "requester-panel" not in drawer


def _notes(drawer: str) -> list[tuple[str, str]]:
    """The drawer's notes, newest first: (what kind of note, who wrote it)."""
    notes = []
    for item in find_all(drawer, "li", class_="note"):
        text = item["_text"]
        what = text.split(" ")[0] + " " + " ".join(text.split(" ")[1:3])
        by = text.rpartition(" by ")[2].rpartition(" · ")[0]
        notes.append((what, by))
    return notes


def test_the_drawer_names_the_requester_on_their_notes(client, desk, tier1):
    ticket = services.open_request(
        board=desk.triage,
        channel=RequesterTicket.Channel.EMAIL,
        name="Pat Requester",
        email="pat@northwind.example",
        subject="Printer jams",
        text="Tray 2.",
        now=NOW,
    )
    add_note(ticket, author=tier1, body="Which printer?", internal=False, now=NOW + timedelta(minutes=1))
    services.add_reply(
        ticket,
        text="The one by the door.",
        via=RequesterTicket.Channel.EMAIL,
        sender="pat@northwind.example",
        sender_name="Pat <b>Requester</b>",
        now=NOW + timedelta(minutes=2),
    )
    services.add_reply(
        ticket,
        text="Me too.",
        via=RequesterTicket.Channel.EMAIL,
        sender="alex@northwind.example",
        now=NOW + timedelta(minutes=3),
    )
    client.login(username="tess", password=PASSWORD)

    drawer = client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    assert _notes(drawer) == [
        ("From the requester", "alex@northwind.example"),
        ("From the requester", "Pat <b>Requester</b>"),
        ("Note to customer", "Tess Tier-One"),
    ]
    assert "Pat &lt;b&gt;Requester&lt;/b&gt;" in drawer
    assert "by someone" not in drawer


def test_the_drawer_reads_as_many_queries_with_one_requester_note_as_with_ten(
    client, desk, tier1, django_assert_max_num_queries
):
    ticket = services.open_request(
        board=desk.triage,
        channel=RequesterTicket.Channel.FORM,
        name="Pat",
        email="pat@northwind.example",
        subject="VPN",
        text="",
        now=NOW,
    )
    link = RequesterTicket.objects.get(ticket=ticket)
    services.add_reply(ticket, text="First", via=link.channel, sender=link.email, now=NOW)
    client.login(username="tess", password=PASSWORD)
    with django_assert_max_num_queries(100) as one:
        client.get(reverse("ticket", args=[ticket.pk]))
    for n in range(9):
        services.add_reply(ticket, text=f"Reply {n}", via=link.channel, sender=link.email, now=NOW)

    with django_assert_max_num_queries(len(one.captured_queries)):
        drawer = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert [what for what, _ in _notes(drawer)] == ["From the requester"] * 10
