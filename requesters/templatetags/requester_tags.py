"""The drawer's requester panel: attachments to download and the status link's switch."""

from __future__ import annotations

from django import template

from ..models import Attachment, RequesterTicket

register = template.Library()


@register.inclusion_tag("requesters/_drawer.html")
def requester_panel(ticket, can_work: bool) -> dict:
    return {
        "ticket": ticket,
        "can_work": can_work,
        "attachments": list(Attachment.objects.filter(ticket=ticket).defer("data")),
        "link": RequesterTicket.objects.filter(ticket=ticket).first(),
    }
