"""The top bar's notifications: the list, the bell's count, and marking them read.

Everyone sees only their own notifications: every query starts from
``Notification.objects.for_user``, and the one view that takes a
notification's id goes through ``_get_notification_for_user`` (404 for
anyone else's). Without JavaScript the bell's list is a page of its own with
a "Mark all read" button; with htmx the same list opens in the bell's panel
and marks itself read as it loads.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from boards.models import Ticket

from .models import Notification

# The list shows the latest few; older ones are the email's to remember.
SHOWN = 20


def _get_notification_for_user(request: HttpRequest, pk: int) -> Notification:
    """One of the user's own notifications; 404 for anyone else's."""
    return get_object_or_404(Notification.objects.for_user(request.user), pk=pk)


def _unread(request: HttpRequest) -> int:
    return Notification.objects.for_user(request.user).unread().count()


def _count(request: HttpRequest, *, oob: bool = False) -> HttpResponse:
    return render(request, "notifications/list.html#count", {"unread": _unread(request), "oob": oob})


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    items = list(
        Notification.objects.for_user(request.user)
        .select_related("warning__ticket__board", "warning__board", "warning__criterion")
        .latest()[:SHOWN]
    )
    # The ticket may have moved where this person can no longer open it: its
    # title stays (they were told it), the link goes.
    visible = set(
        Ticket.objects.visible_to(request.user)
        .filter(pk__in={n.warning.ticket_id for n in items})
        .values_list("pk", flat=True)
    )
    for item in items:
        item.status = item.warning.status(now)
        item.can_open = item.warning.ticket_id in visible
    unread = [item.pk for item in items if item.read_at is None]
    context = {"items": items, "unread": _unread(request), "up_to": max(unread, default=None), "now": now}
    template = (
        "notifications/list.html#panel" if request.htmx and not request.htmx.boosted else "notifications/list.html"
    )
    return render(request, template, context)


@require_GET
def bell_count(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, which the top bar asks for now and then."""
    return _count(request)


@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark read the notifications the person was shown: their own, up to the newest in the list they opened.

    ``up_to`` keeps a warning that arrived after the list was drawn unread.
    """
    try:
        up_to = int(request.POST.get("up_to", ""))
    except ValueError:
        up_to = None
    # Within the id column's range: a larger number is nobody's notification, and PostgreSQL would refuse it.
    lowest, highest = connection.ops.integer_field_range(Notification._meta.pk.get_internal_type())
    if up_to is None or not lowest <= up_to <= highest:
        raise BadRequest("up_to must be a notification number.")
    marked = Notification.objects.for_user(request.user).unread().filter(pk__lte=up_to).update(read_at=timezone.now())
    if request.htmx:
        return _count(request, oob=True)
    if marked:
        messages.success(request, "Marked as read.")
    return redirect("notifications:list")


@require_POST
def mark_one_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _get_notification_for_user(request, pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if request.htmx:
        return _count(request, oob=True)
    return redirect("notifications:list")
