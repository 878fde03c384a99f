"""The requester's pages (the request form, the status page) and the technician's controls for them.

The request form and the status page are public (``login_not_required``):
the status page is opened by its signed link alone, and shows only the
public timeline. Attachment downloads and the link controls are for
technicians of the ticket's board (``boards.permissions``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards import permissions
from boards.models import Column, Note, Ticket
from helpdesk.throttle import client_ip
from routing.models import Move

from . import services
from .forms import NewRequestForm, ReplyForm
from .models import Attachment, RequesterTicket, RequestForm
from .parsing import Part

log = logging.getLogger(__name__)

Channel = RequesterTicket.Channel


# --- The request form -------------------------------------------------------------------


def _over_limit(email: str, address: str | None, config: RequestForm, now: datetime) -> str:
    """Why this request is one too many this hour, or ""."""
    recent = RequesterTicket.objects.filter(channel=Channel.FORM, created_at__gte=now - timedelta(hours=1))
    if recent.filter(email=email).count() >= config.limit_per_hour:
        return f"You have sent {config.limit_per_hour} requests in the last hour."
    if address and recent.filter(client_address=address).count() >= config.address_limit_per_hour:
        return "Many requests came from your network in the last hour."
    return ""


@login_not_required
@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    config = RequestForm.current()
    offered = None if config._state.adding else config.offered_boards.all()
    form = NewRequestForm(request.POST or None, request.FILES or None, offered=offered)
    status = 200
    if request.method == "POST":
        now = timezone.now()
        if not form.is_valid():
            status = 400
        elif form.cleaned_data["website"]:
            # A bot: it sees the usual answer, and nothing is opened.
            log.info("request form honeypot filled in from %s; ignored", request.META.get("REMOTE_ADDR"))
            return redirect("request_sent")
        elif too_many := _over_limit(form.cleaned_data["email"], client_ip(request), config, now):
            form.add_error(None, f"{too_many} Please wait a while, or reply to one of our emails instead.")
            status = 429
        else:
            data = form.cleaned_data
            board = data.get("board") or config.landing_board()
            upload = data.get("attachment")
            parts = (
                [Part(upload.name[:255], upload.content_type or "application/octet-stream", upload.read())]
                if upload
                else []
            )
            services.open_request(
                board=board,
                channel=Channel.FORM,
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                text=data["description"],
                attachments=parts,
                client_address=client_ip(request),
                now=now,
            )
            return redirect("request_sent")
    return render(request, "requesters/request.html", {"form": form}, status=status)


@login_not_required
@require_GET
def request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "requesters/sent.html")


# --- The status page ---------------------------------------------------------------------


@dataclass
class Event:
    when: datetime
    kind: str  # opened, note, yours, resolved, reopened
    who: str
    text: str


def public_timeline(ticket: Ticket, link: RequesterTicket) -> list[Event]:
    """What the requester may see, oldest first: the request, customer-visible notes, resolutions.

    Internal notes and the desk's own moves between boards are never part of it. A note
    written from the link's address is "You"; one from someone else on the requester's
    side (a colleague answering the thread) names them.
    """
    events = [Event(ticket.created_at, "opened", "You", ticket.description)]
    notes = Note.objects.filter(ticket=ticket, internal=False).select_related("author", "requester_mark")
    for note in notes:
        if hasattr(note, "requester_mark"):
            mark = note.requester_mark
            who = "You" if mark.email in ("", link.email) else mark.display_name
            events.append(Event(note.created_at, "yours", who, services.requester_words(note)))
        else:
            name = (note.author.first_name or note.author.username) if note.author else "The service desk"
            events.append(Event(note.created_at, "note", name, note.body))
    moves = Move.objects.filter(ticket=ticket, from_column__isnull=False).select_related("from_column", "to_column")
    done = Column.Category.DONE
    for move in moves:
        if move.to_column.category == done and move.from_column.category != done:
            events.append(Event(move.created_at, "resolved", "", "Resolved"))
        elif move.from_column.category == done and move.to_column.category != done:
            events.append(Event(move.created_at, "reopened", "", "Reopened"))
    return sorted(events, key=lambda e: e.when)


def _status_page(request: HttpRequest, link: RequesterTicket, token: str, form=None, status: int = 200):
    ticket = Ticket.objects.select_related("column").get(pk=link.ticket_id)
    context = {
        "ticket": ticket,
        "token": token,
        "timeline": public_timeline(ticket, link),
        "form": form or ReplyForm(),
    }
    return render(request, "requesters/status.html", context, status=status)


def _by_status_link(view):
    """The status views' one door: a public page opened by its signed link alone.

    A forged, revoked or replaced link gets the "this link does not work"
    page (404); the view is given the link it opened. Never cached: it shows
    a ticket to whoever holds the link.
    """

    @login_not_required
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        link = services.link_for_token(token)
        if link is None:
            return render(request, "requesters/status_gone.html", status=404)
        return view(request, link, token)

    return wrapper


@require_GET
@_by_status_link
def status(request: HttpRequest, link: RequesterTicket, token: str) -> HttpResponse:
    return _status_page(request, link, token)


@require_POST
@_by_status_link
def status_reply(request: HttpRequest, link: RequesterTicket, token: str) -> HttpResponse:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _status_page(request, link, token, form=form, status=400)
    ticket = link.ticket
    # The link's holder is the requester: named as the ticket names them, unless the desk has since
    # given the ticket another requester address.
    name = ticket.requester_name if ticket.requester_email.lower() == link.email else ""
    reply = services.add_reply(
        ticket,
        text=form.cleaned_data["body"],
        via=Channel.FORM,
        sender=link.email,
        sender_name=name,
        now=timezone.now(),
    )
    messages.success(request, "Your reply was added." + (" The request is open again." if reply.reopened else ""))
    return redirect("request_status", token=token)


@require_POST
@_by_status_link
def status_solved(request: HttpRequest, link: RequesterTicket, token: str) -> HttpResponse:
    if services.mark_solved(link):
        messages.success(request, "Thank you: the request is marked solved. Reply here if it comes back.")
    else:
        messages.info(request, "The request was already solved.")
    return redirect("request_status", token=token)


# --- Technicians ------------------------------------------------------------------------


@require_GET
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """A requester's file, for technicians of the ticket's board only (404 for anyone else)."""
    found = get_object_or_404(Attachment.objects.select_related("ticket").defer("data"), pk=pk)
    if not permissions.can_work(request.user, found.ticket.board_id):
        raise Http404("No such attachment on your boards.")
    data = Attachment.objects.values_list("data", flat=True).get(pk=pk)
    # Always a download, never shown inline: a requester's HTML must not run on our origin.
    response = HttpResponse(bytes(data), content_type=found.content_type or "application/octet-stream")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(found.filename)}"
    return response


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename.replace("/", "_").replace("\\", "_"), safe="")


def _link_for_change(request: HttpRequest, pk: int) -> RequesterTicket:
    ticket = get_object_or_404(Ticket, pk=pk)
    if not permissions.can_work(request.user, ticket.board_id):
        raise Http404("No ticket with that number on your boards.")
    link = services.link_for_ticket(ticket)
    if link is None:
        raise Http404("This ticket has no requester address.")
    return link


@require_POST
def revoke_status_link(request: HttpRequest, pk: int) -> HttpResponse:
    link = _link_for_change(request, pk)
    services.revoke_link(link)
    messages.success(request, f"The status link of #{pk} no longer works.")
    return redirect("ticket", pk=pk)


@require_POST
def renew_status_link(request: HttpRequest, pk: int) -> HttpResponse:
    link = _link_for_change(request, pk)
    services.renew_link(link)
    messages.success(request, f"#{pk} has a new status link; the next mail to the requester carries it.")
    return redirect("ticket", pk=pk)
