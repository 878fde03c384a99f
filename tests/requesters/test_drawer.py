"""The drawer's requester panel: the requester's files and the status link's switch, for the board's technicians."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from boards.models import Ticket
from requesters import services
from requesters.models import Attachment, RequesterTicket
from requesters.parsing import Part
from tests.factories import PASSWORD


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
