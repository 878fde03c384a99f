"""The error answers: 400, 403, 404, 500, 503 and a failed CSRF check.

A full page looks like the app and offers a way back. An htmx request gets a
fragment instead, shown in place (``static/switchback/app.js`` swaps it): in
the drawer when the request was for the drawer, else in the message bar. The
reason a view gave (``PermissionDenied("T-12 is on the Support board…")``)
is shown; Django's generic "No Ticket matches the given query." is not.

The 500 and 503 pages are rendered without the request's context processors:
they may be answering because the database is down, and the signed-in user
lives in the database.
"""

from __future__ import annotations

import logging
import sys

from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from api.problems import django_error_response, is_api_path

TITLES = {
    400: "That request didn't make sense",
    403: "You can't do that here",
    404: "Nothing here",
    500: "Something went wrong",
    503: "Switchback is briefly unavailable",
}
MESSAGES = {
    400: "Switchback couldn't understand what your browser sent, so it did nothing with it.",
    403: "That needs access you don't have. It may be on a board you don't work.",
    404: "The page, ticket or board isn't here. It may have moved to a board you don't work, or the link is wrong.",
    500: (
        "Switchback hit an error and has logged it. If you were saving something, "
        "look at the ticket before trying again."
    ),
    503: "Switchback can't reach its database just now. Nothing you saved is lost; try again in a minute.",
}
CSRF_MESSAGE = "This form has expired (or came from another site). Reload the page and try again."
# Seconds a client should wait before retrying after a 503.
RETRY_AFTER = 30

log = logging.getLogger(__name__)


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether an error means "the database can't be reached or is restarting", not a bug.

    Django raises OperationalError for a refused or dropped connection (and for
    SQLite's "database is locked"), InterfaceError for a connection already
    closed under it. Both are transient; ProgrammingError, DataError and the
    rest are ours to fix and stay 500s.
    """
    return isinstance(exc, (OperationalError, InterfaceError))


def _is_htmx(request: HttpRequest) -> bool:
    # Read the header itself: errors raised in middleware come before django-htmx's.
    return request.headers.get("HX-Request") == "true"


def _back_url(request: HttpRequest) -> str | None:
    referer = request.headers.get("Referer", "")
    if not referer or referer.endswith(request.get_full_path()):
        return None
    host = request.get_host()
    ours = url_has_allowed_host_and_scheme(referer, allowed_hosts={host}, require_https=request.is_secure())
    return referer if ours else None


def _reason(exception: BaseException | None, status: int) -> str:
    """The view's own words when it gave some, else the page's standard text."""
    text = str(exception.args[0]) if exception is not None and exception.args else ""
    if status == 400 and not isinstance(exception, BadRequest):
        text = ""  # SuspiciousOperation messages are for the log, not the visitor
    if not text or text.endswith("matches the given query."):
        return MESSAGES[status]
    return text


def error_response(
    request: HttpRequest, status: int, message: str, *, with_request: bool = True, title: str | None = None
) -> HttpResponse:
    if is_api_path(request.path):
        # The REST API answers in problem details (RFC 9457), never an HTML page.
        return django_error_response(request, status, message)
    context = {
        "status": status,
        "title": title or TITLES[status],
        "message": message,
        "home_url": reverse("home"),
    }
    if _is_htmx(request):
        in_drawer = request.headers.get("HX-Target") == "drawer"
        context["in_drawer"] = in_drawer
        html = loader.render_to_string("errors/inline.html", context)
        response = HttpResponse(html, status=status)
        # app.js swaps a response carrying this header even though it is an error.
        response["X-Switchback-Error"] = "inline"
        if not in_drawer:
            response["HX-Retarget"] = "#messages"
            response["HX-Reswap"] = "innerHTML"
    else:
        if with_request:
            context["back_url"] = _back_url(request)
        if request.method == "GET" and status in (500, 503):
            context["retry_url"] = request.get_full_path()
        # No RequestContext: nothing on these pages may need the database.
        html = loader.render_to_string(f"{status}.html", context)
        response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return error_response(request, 400, _reason(exception, 400))


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return error_response(request, 403, _reason(exception, 403))


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return error_response(request, 404, _reason(exception, 404))


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 when what went wrong is the database being out of reach.

    Errors raised in middleware (the session is read lazily, the user too)
    come here rather than to ``DatabaseUnavailableMiddleware``; the exception
    being handled is still ``sys.exc_info()``.
    """
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return database_unavailable(request, exc)
    return error_response(request, 500, MESSAGES[500], with_request=False)


def database_unavailable(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    log.error("Database unavailable answering %s %s: %s", request.method, request.path, exception)
    return error_response(request, 503, MESSAGES[503], with_request=False)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, 403, CSRF_MESSAGE, title="Please reload the page")
