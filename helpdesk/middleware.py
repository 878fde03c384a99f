"""Project-wide answers that no single view should have to remember.

- A request carrying a NUL byte is refused with a 400 before any view runs.
- A database that can't be reached answers 503 with a short page, not 500.
- Pages for a signed-in user are never stored by a browser or a proxy cache.
- A request reads the active criteria once, however many parts of it ask.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from routing.services import criteria_read_once

from .errors import database_unavailable, is_database_unavailable


class RejectNulBytesMiddleware:
    """400 for a NUL byte anywhere in the query string or form body.

    NUL never belongs in a help desk's text, and PostgreSQL refuses to compare
    or store it: left to the views, the first ORM lookup on such a value (a
    board slug, a search) raises ValueError, a 500. Refusing here covers every
    view, admin and the flow pages included. Form fields already refuse NUL
    (Django's ProhibitNullCharactersValidator); this is for everything else.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            raise BadRequest("The request contained a NUL character, which Switchback never accepts.")
        return self.get_response(request)


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in data.getlist(key)) for key in data)


class DatabaseUnavailableMiddleware:
    """The 503 page when PostgreSQL is down or restarting (see ``errors.is_database_unavailable``).

    Exceptions raised in views reach ``process_exception``; those raised in
    middleware (the session and user are read lazily) reach the 500 handler,
    which makes the same decision.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DatabaseError) and is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None


class PrivatePagesMiddleware:
    """``Cache-Control: private, no-store`` on every answer to a signed-in user.

    Boards, tickets and notes are customer data: a shared proxy must not keep
    them, and the browser must not show them from its cache after logout.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 500:
            return response  # the error pages never show private data, and the database may be down
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class CriteriaReadOnceMiddleware:
    """The active criteria are read once per request (``routing.services.criteria_read_once``).

    A move reads them for its deadline and the cards drawn in its answer read
    them again for their Escalate and De-escalate buttons; within one request
    they are the same rows, unless the request itself saves one (which makes
    the next read fresh).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with criteria_read_once():
            return self.get_response(request)
