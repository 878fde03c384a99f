"""Where the browser is: the page an htmx request came from, safe places to go back to, URL patterns.

htmx sends the page's URL (``HX-Current-URL``); a write's answer redraws what
that page shows (the board's columns with its filters, or the ticket page).
Plain forms go back to ``next`` or the Referer, on this site only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, get_script_prefix, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from .forms import BoardFilters
from .models import Board

_SENTINEL = 918273645


_patterns: dict[tuple[str, str, tuple[str, ...]], str] = {}


def url_pattern(name: str, *rest: str) -> str:
    """A reversed URL with a ``{}`` where the ticket number goes: one reverse per process, not per card.

    Kept per script prefix (where the site is mounted), the one thing besides
    the URLconf that a reversed URL depends on.
    """
    key = (get_script_prefix(), name, rest)
    pattern = _patterns.get(key)
    if pattern is None:
        pattern = _patterns[key] = reverse(name, args=[_SENTINEL, *rest]).replace(str(_SENTINEL), "{}")
    return pattern


def board_url(board: Board, filters: BoardFilters | None = None) -> str:
    query = filters.query() if filters else ""
    return board.get_absolute_url() + (f"?{query}" if query else "")


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where a plain form goes back to: its `next` field, else the page it was posted from, on this site only.

    Only a path on this site ("/boards/triage/?q=x") or a full URL of this
    host qualifies. Anything else ("0", "abc", "javascript:…") is ignored:
    it is answered with ``fallback``, never handed to ``redirect()``, which
    would try it as a view name and fail after the write was saved.
    """
    for url in (request.POST.get("next"), request.GET.get("next"), request.headers.get("Referer")):
        if not url or not (url.startswith("/") or absolute_url_parts(url) is not None):
            continue
        if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            return url
    return fallback


def absolute_url_parts(url: str):
    """``urlsplit`` of an absolute http(s) URL, or None for anything else (a relative or malformed one)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[" and friends
        return None
    return parts if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass
class Screen:
    """What the browser that sent an htmx request shows: a board (with filters) or a ticket page."""

    board: Board | None = None
    filters: BoardFilters = field(default_factory=BoardFilters)
    ticket_pk: int | None = None
    path: str = ""


def read_screen(request: HttpRequest) -> Screen:
    # Set by django-htmx's middleware on every request (falsy when not from htmx).
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    try:
        path = htmx.current_url_abs_path if htmx else None
        parts = urlsplit(path) if path else None
    except ValueError:  # a malformed HX-Current-URL: answer as if we did not know the page
        return Screen()
    if not path or not parts:
        return Screen()
    try:
        match = resolve(parts.path)
    except Resolver404:
        return Screen(path=path)
    if match.url_name == "board":
        # With its calendar and columns: what an answer that draws cards needs (boards.cards.read_board).
        from .cards import read_board

        board = read_board(match.kwargs["slug"])
        return Screen(board=board, filters=BoardFilters.from_query(QueryDict(parts.query)), path=path)
    if match.url_name == "ticket":
        return Screen(ticket_pk=match.kwargs["pk"], path=path)
    return Screen(path=path)
