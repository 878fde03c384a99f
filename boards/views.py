"""The boards in the browser: home, the kanban, the ticket drawer and the move dialog.

Three rooms: the board's read model (cards from plain rows) is boards/cards.py;
where the browser is (``HX-Current-URL``, safe ``next`` URLs) is
boards/screen.py; this module holds the endpoints and how each answers.

Views parse input, check permission through the getters below and delegate:
moves to ``routing.services`` (the one door), other ticket writes to
``boards.services``. A plain request gets a full page, or after a POST a
redirect back with a message, so everything works with JavaScript off. An htmx
request gets HTML fragments: the target's partial, plus out-of-band partials
for the other parts of the screen one action changes (the board's columns, the
open drawer, the messages, the dialog). A move and the live poll send only the
cards that changed since the page was drawn, each into its column
(``cards.changed_cards``), and the whole columns when those are too many.

Who may do what: every technician may look at every board (the tabs are also
drop targets for escalations), but only the boards they work show move and
edit controls, and only there do the write endpoints answer (403 otherwise).
A ticket's drawer opens for those who work its board, managers, and its
assignee; anyone else gets a 404. The rule itself lives in ``boards.permissions``,
which the REST API calls too.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from itertools import chain
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from routing.models import Criterion, Direction, Move
from routing.services import MoveError, manual_criteria, move_ticket
from routing.tasks import VERBS  # the verbs' one home: the move e-mails say the same

from . import permissions, services
from . import search as board_search
from .cards import SEARCH_CARDS, Changes, board_column_list, board_columns, changed_cards, matching_count, read_board
from .forms import (
    BoardFilters,
    CriterionForm,
    DoneFilterForm,
    MoveForm,
    NoteForm,
    QuickAddForm,
    ResolveForm,
    TicketUpdateForm,
    ascii_int,
)
from .models import Board, Column, Note, Skill, Technician, Ticket, Watch
from .screen import Screen, board_url, read_screen, safe_next, url_pattern
from .templatetags.board_tags import render_card_oob

log = logging.getLogger(__name__)

DONE_PAGE_SIZE = 50
HOME_PAGE_SIZE = 50
# The live poll redraws the whole board when it brings changes and the columns
# were last drawn whole longer ago than this (see board_changes).
REDRAW_EVERY = timedelta(seconds=60)
# Search pages go this deep (each asks the indexes for every match up to its end).
SEARCH_MAX_PAGE = 20

# The htmx event the board's poll fires when it brought changes (app.js listens).
BOARD_CHANGED = "switchback:board-changed"

# A board's slug, as the URL patterns' <slug:…> converter accepts it.
slug_re = re.compile(r"[-a-zA-Z0-9_]+")


# --- Permission-checked getters ------------------------------------------------


def _ticket_queryset():
    return Ticket.objects.select_related("board", "column", "client", "assignee", "deadline_criterion")


def _get_ticket_for_user(request: HttpRequest, pk: int) -> Ticket:
    """A ticket the user may look at; 404 for one on another board."""
    ticket = get_object_or_404(_ticket_queryset(), pk=pk)
    if not permissions.can_view(request.user, ticket):
        raise Http404("No ticket with that number on your boards.")
    return ticket


def _get_ticket_for_change(request: HttpRequest, pk: int, tickets=None) -> Ticket:
    """A ticket the user may move or edit; 403 when it is on a board they do not work.

    ``tickets``: a lighter read than the drawer's, for a view that needs less (a move).
    """
    ticket = get_object_or_404(_ticket_queryset() if tickets is None else tickets, pk=pk)
    _check_can_change(request, ticket)
    return ticket


def _check_can_change(request: HttpRequest, ticket: Ticket) -> None:
    """403 when the ticket is on a board the user does not work."""
    if not permissions.can_work(request.user, ticket.board_id):
        raise PermissionDenied(f"{ticket.number} is on the {ticket.board.name} board, which you do not work.")


def _get_board_param(slug: str) -> Board:
    """The board a query or form names by slug: 400 when it can't be a slug, 404 when there is none."""
    if not slug_re.fullmatch(slug):
        raise BadRequest("That is not a board's name.")
    return get_object_or_404(Board, slug=slug)


# --- Reading a board -------------------------------------------------------------

# The read model lives in boards/cards.py; these names are the views' (tests patch them here).
_board_columns = board_columns


def _read_board(slug: str) -> Board:
    """The board a page shows, with what drawing its cards needs (``cards.read_board``); 404 if none."""
    board = read_board(slug)
    if board is None:
        raise Http404("No such board.")
    return board


def _columns_context_light(
    board: Board, filters: BoardFilters, now: datetime, drawn: int | None = None, revision: int | None = None
) -> dict:
    """What the poll needs. ``board`` must be freshly read, after ``now`` (or ``revision`` read so): its
    revision is what the page shows, and ``now`` (as ``seen``) the moment from which the next answer looks
    for changes.

    ``drawn`` is when the columns were last drawn whole (ms, as ``seen``): now, unless this
    answer sends single cards and carries the page's on.
    """
    query = filters.query()
    seen = int(now.timestamp() * 1000)
    drawn = drawn or seen
    revision = board.revision if revision is None else revision
    return {
        "board": board,
        "filters": filters,
        "revision": revision,
        "seen": seen,
        "drawn": drawn,
        "now": now,
        "board_url": board_url(board, filters),
        "changes_url": reverse("board_changes", args=[board.slug])
        + f"?since={revision}&seen={seen}&drawn={drawn}"
        + (f"&{query}" if query else ""),
        "poll_ms": settings.BOARD_POLL_INTERVAL_MS,
        "done_url": reverse("board_done", args=[board.slug]),
    }


def _columns_context(request: HttpRequest, board: Board, filters: BoardFilters, now: datetime) -> dict:
    """Context for the columns and the poll."""
    return {
        **_columns_context_light(board, filters, now),
        "columns": _board_columns(request, board, filters, now),
        "can_work": permissions.can_work(request.user, board.pk),
    }


# --- htmx responses ------------------------------------------------------------------


def _render_parts(request: HttpRequest, parts: list[tuple[str, dict]], status: int = 200) -> HttpResponse:
    html = "".join(render_to_string(name, context, request) for name, context in parts)
    return HttpResponse(html, status=status)


def _messages_part() -> tuple[str, dict]:
    return ("base.html#messages", {"oob": True})


def _drawer_context(
    request: HttpRequest, ticket: Ticket, now: datetime, back_url: str, next_url: str | None = None
) -> dict:
    can_work = permissions.can_work(request.user, ticket.board_id)
    required = list(ticket.required_skills.all())
    context = {
        "ticket": ticket,
        "can_work": can_work,
        "now": now,
        "timeline": _timeline(ticket),
        "back_url": back_url,
        "next_url": next_url or back_url,
        "required_skills": required,
        "following": Watch.objects.filter(ticket=ticket, user=request.user).exists(),
    }
    if can_work and ticket.is_open:
        context["can_escalate"] = bool(manual_criteria(ticket, Direction.ESCALATE))
        context["can_de_escalate"] = bool(manual_criteria(ticket, Direction.DE_ESCALATE))
        context["can_transfer"] = bool(manual_criteria(ticket, Direction.TRANSFER))
    if can_work:
        context.update(
            {
                "assignees": _assignees(ticket.board, request.user),
                "tiers": _tiers(ticket),
                "skills": list(Skill.objects.all()),
                "required_ids": {s.pk for s in required},
            }
        )
    return context


def _timeline(ticket: Ticket) -> list[Move | Note]:
    """Moves and notes, newest first: what happened to this ticket, by whom, and why."""
    moves = list(
        ticket.moves.select_related("actor", "criterion", "from_board", "to_board", "from_column", "to_column")
    )
    notes = list(ticket.notes.select_related("author", "requester_mark"))
    for move in moves:
        move.kind = "move"
    for note in notes:
        note.kind = "note"
    return sorted([*moves, *notes], key=lambda e: (e.created_at, e.kind == "note", e.pk), reverse=True)


def _assignees(board: Board, user) -> list[User]:
    return list(permissions.assignable_users(board, user))


def _tiers(ticket: Ticket) -> list[int]:
    top = Technician.objects.aggregate(top=Max("tier"))["top"] or 1
    return list(range(1, max(3, top, ticket.tier) + 1))


def _update_form(request: HttpRequest, ticket: Ticket, data) -> TicketUpdateForm:
    return TicketUpdateForm(
        data,
        assignees=User.objects.filter(pk__in=[u.pk for u in _assignees(ticket.board, request.user)]),
        tiers=_tiers(ticket),
    )


def _redirect_back(request: HttpRequest, ticket_pk: int | None, fallback_url: str) -> HttpResponse:
    """After a plain form POST: back where it came from, unless that is the page of a ticket
    that just left the user's boards (it would 404); then to ``fallback_url``."""
    url = safe_next(request, fallback_url)
    if ticket_pk is not None:
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            match = None
        if match and match.url_name == "ticket" and match.kwargs.get("pk") == ticket_pk:
            ticket = _ticket_queryset().filter(pk=ticket_pk).first()
            if ticket is None or not permissions.can_view(request.user, ticket):
                url = fallback_url
    # Never redirect(url): a string without a "/" would be looked up as a view name.
    return HttpResponseRedirect(url)


def _drawer_part(request: HttpRequest, ticket_pk: int | None, screen: Screen, now: datetime):
    """The drawer, out of band, when it shows this ticket: (template, context), or None."""
    if ticket_pk is None:
        return None
    if request.headers.get("X-Drawer-Ticket", "") != str(ticket_pk) and screen.ticket_pk != ticket_pk:
        return None
    ticket = _ticket_queryset().get(pk=ticket_pk)
    if not permissions.can_view(request.user, ticket):
        return ("boards/ticket.html#drawer_oob", {"ticket": None})  # it left the user's boards: close
    back = board_url(screen.board, screen.filters) if screen.board else ticket.board.get_absolute_url()
    return ("boards/ticket.html#drawer_oob", _drawer_context(request, ticket, now, back))


def _answered_after_saving(answer):
    """A write view's answer must not fail once the write is saved.

    The write has committed and its message is queued by the time the answer
    is drawn. Should drawing it fail (a bug, or the database going away), a
    500 would tell the technician nothing was saved, and a retry would save a
    second ticket or note. Instead the error is logged and the browser is sent
    to reload (htmx) or back to ``fallback_url`` (plain form), where the saved
    state and the message show. Input is parsed so this never happens for bad
    input; the tests fail on the log line.
    """

    def wrapper(request: HttpRequest, ticket, *, fallback_url: str, **kwargs) -> HttpResponse:
        try:
            return answer(request, ticket, fallback_url=fallback_url, **kwargs)
        except Exception:
            log.exception("Could not draw the answer to %s %s after the write", request.method, request.path)
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Refresh"] = "true"
                return response
            return HttpResponseRedirect(fallback_url)

    return wrapper


@_answered_after_saving
def _after_action(
    request: HttpRequest,
    ticket_pk: int | None,
    *,
    fallback_url: str,
    close_dialog: bool = False,
    extra: list[tuple[str, dict]] = (),
) -> HttpResponse:
    """Answer a POST: redirect back (no JS), or the parts of the screen it changed (htmx).

    The htmx answer is all out-of-band swaps (the forms post with hx-swap=none):
    the messages, the columns of the board on screen (and its poll, which
    carries the revision they show), the drawer when it shows this ticket, and
    an emptied dialog slot when the dialog is done.
    """
    if not request.htmx:
        return _redirect_back(request, ticket_pk, fallback_url)
    now = timezone.now()
    screen = read_screen(request)
    parts = [_messages_part()]
    if screen.board is not None:
        context = {**_columns_context(request, screen.board, screen.filters, now), "oob": True}
        parts += [("boards/board.html#columns", context), ("boards/board.html#poll", context)]
    drawer = _drawer_part(request, ticket_pk, screen, now)
    if drawer is not None and drawer[1]["ticket"] is None and screen.ticket_pk == ticket_pk:
        # The page of a ticket that just left the user's boards: go to the board it left.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = fallback_url
        return response
    if drawer is not None:
        parts.append(drawer)
    if close_dialog:
        parts.append(("boards/dialog.html#dialog_oob", {"criteria": None}))
    parts.extend(extra)
    return _render_parts(request, parts)


def _seen_at(value: str | None) -> datetime | None:
    """The moment a page was drawn, as the browser sends it back (``data-seen``, ms since the epoch)."""
    ms = ascii_int(value)
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _changes_html(
    request: HttpRequest, board: Board, filters, changes: Changes, now: datetime, drawn: int | None
) -> str:
    """The changed cards, each out of band into its column, and the poll with the new revision and
    the cards to take off the page (app.js places the cards and keeps the column counts)."""
    csrf = get_token(request)
    cards = "".join(render_card_oob(card, csrf) for card in changes.cards)
    context = {
        **_columns_context_light(board, filters, now, drawn, changes.revision),
        "oob": True,
        "gone": " ".join(str(pk) for pk in changes.gone),
    }
    # The poll needs nothing from the request: no context processors.
    return cards + render_to_string("boards/board.html#poll", context)


@_answered_after_saving
def _after_card_move(request: HttpRequest, ticket: Ticket, *, fallback_url: str, screen: Screen | None) -> HttpResponse:
    """Answer a move with what changed on the board since the browser last looked, not the whole board.

    The browser already shows the card in its new column (it moved it before
    posting) and says when its page was drawn (``X-Board-Seen``, with the
    revision in ``X-Board-Revision``). The answer holds the moved card and
    every card that changed since (``cards.changed_cards``), out of band into
    their columns, and the poll with the new revision and the cards that left.
    Too many changes, an unknown moment, or a search-filtered board (whose
    cards are capped): the whole board, as any other action.

    ``screen``: what the browser shows, as the view read it before the move
    (its columns named the drop target). The board's revision the answer
    carries is read with the changed cards, after the move.
    """
    now = timezone.now()
    board = screen.board if screen else None
    seen = _seen_at(request.headers.get("X-Board-Seen"))
    changes = None
    if board is not None and seen is not None and not screen.filters.q:
        changes = changed_cards(request, board, screen.filters, seen, now, also=ticket.pk)
    if changes is None:
        return _after_action(request, ticket.pk, fallback_url=fallback_url)
    if changes.revision is None:
        # The board on screen was read before the move: its revision is the one from before.
        board.refresh_from_db(fields=["revision"])
    drawn = ascii_int(request.headers.get("X-Board-Drawn"))
    html = _changes_html(request, board, screen.filters, changes, now, drawn)
    parts = [_messages_part()]
    drawer = _drawer_part(request, ticket.pk, screen, now)
    if drawer is not None:
        parts.append(drawer)
    return HttpResponse(html + "".join(render_to_string(name, context, request) for name, context in parts))


def _first_error(form) -> str:
    for name, errors in form.errors.items():
        if name == "__all__":
            return errors[0]
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        return f"{label}: {errors[0]}"
    return "Please check the form."


# --- Pages -----------------------------------------------------------------------------


def board_counts(board_ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Open and overdue tickets per board: {board pk: (open, overdue)}.

    One grouped read of the open rows only, answered from the partial index
    ticket_board_open_cards_idx (board, …, deadline_at WHERE resolved_at IS NULL).
    """
    rows = (
        Ticket.objects.open()
        .filter(board_id__in=board_ids)
        .order_by()
        .values("board_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline_at__lte=now)))
    )
    return {row["board_id"]: (row["open"], row["overdue"]) for row in rows}


def _home_rows(page, ticket_url: str, board_urls: dict[int, str]) -> list[Ticket]:
    """A page of home rows, with the URLs each row links to made from patterns built once per page."""
    rows = list(page.object_list)
    for t in rows:
        t.url = ticket_url.format(t.pk)
        t.board_url = board_urls.get(t.board_id, "")
    return rows


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """My work: my boards; my tickets where I can act; followed tickets (and mine elsewhere) until resolved.

    Both lists are pages of HOME_PAGE_SIZE, most urgent first, with the count of
    all ("Showing 1–50 of 3,948") and links to the next pages.
    """
    now = timezone.now()
    user = request.user
    boards = list(Board.objects.for_user(user))
    counts = board_counts([b.pk for b in boards], now)
    for b in boards:
        b.open_count, b.overdue_count = counts.get(b.pk, (0, 0))
    worked = permissions.worked_board_ids(user)
    other_boards = Board.objects.exclude(pk__in=worked) if worked is not None else Board.objects.none()
    rows = (
        Ticket.objects.open()
        .select_related("board", "column", "client", "deadline_criterion")
        .defer("description")
        .by_urgency()
    )
    # Mine where I can act; a ticket of mine the scheduler or a colleague took to
    # a board I don't work is "followed": I can read it, not act on it.
    followed_q = Q(pk__in=Watch.objects.filter(user=user).values("ticket_id")) & ~Q(assignee=user)
    if worked is None:
        mine = rows.filter(assignee=user)
    else:
        ids = sorted(worked)
        mine = rows.filter(assignee=user, board_id__in=ids)
        followed_q |= Q(assignee=user) & ~Q(board_id__in=ids)
    ticket_url = url_pattern("ticket")
    board_urls = {b.pk: b.get_absolute_url() for b in Board.objects.all()}
    mine_page = Paginator(mine, HOME_PAGE_SIZE).get_page(request.GET.get("mine_page"))
    followed_page = Paginator(rows.filter(followed_q), HOME_PAGE_SIZE).get_page(request.GET.get("followed_page"))
    followed = _home_rows(followed_page, ticket_url, board_urls)
    for t in followed:
        t.followed_reason = "assigned to you" if t.assignee_id == user.pk else "you follow it"
    return render(
        request,
        "boards/home.html",
        {
            "boards": boards,
            "other_boards": other_boards,
            "my_tickets": _home_rows(mine_page, ticket_url, board_urls),
            "mine_page": mine_page,
            "followed_tickets": followed,
            "followed_page": followed_page,
            "now": now,
        },
    )


@require_GET
def board(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()  # before the board is read: see _columns_context_light
    board = _read_board(slug)
    filters = BoardFilters.from_query(request.GET)
    context = _columns_context(request, board, filters, now)
    context.update(
        {
            "boards": list(Board.objects.all()),
            "time_limits": _time_limits(board),
            "quick_add": QuickAddForm() if context["can_work"] else None,
            "priority_choices": [(p, f"P{p}") for p in Ticket.Priority.values],
        }
    )
    if filters.q and sum(len(c.cards) for c in context["columns"] if not c.column.is_done) >= SEARCH_CARDS:
        # A text filter draws the SEARCH_CARDS most urgent matches: say how many there are, and where the rest are.
        context.update(
            {
                "matching": matching_count(request, board, filters),
                "search_cards": SEARCH_CARDS,
                "search_url": reverse("search") + "?" + urlencode({"q": filters.q}),
            }
        )
    return render(request, "boards/board.html", context)


def _time_limits(board: Board) -> list[Criterion]:
    """The active time criteria that can fire on this board, for the board's subtitle: their live limits."""
    return list(
        Criterion.objects.active()
        .filter(trigger=Criterion.Trigger.TIME)
        .filter(Q(from_board__isnull=True) | Q(from_board=board))
        .select_related("to_board")
        .order_by("position", "pk")
    )


@require_GET
def board_changes(request: HttpRequest, slug: str) -> HttpResponse:
    """The board's poll: 204 while nothing changed (one indexed read), else the cards that changed
    since the page was drawn (``seen``), or fresh columns when they are too many."""
    now = timezone.now()  # before the board is read: see _columns_context_light
    # One read: the board's revision answers "nothing new" (204); its columns draw the changes.
    board = _read_board(slug)
    filters = BoardFilters.from_query(request.GET)
    if not request.htmx:
        return redirect(board_url(board, filters))
    if request.GET.get("since") == str(board.revision):
        return HttpResponse(status=204)
    seen = _seen_at(request.GET.get("seen"))
    drawn = _seen_at(request.GET.get("drawn"))
    # Single cards while the columns were drawn whole lately: now and then the
    # poll redraws them all, which mends anything a card-by-card answer missed
    # (a write whose stamp came more than CHANGE_SLACK before its commit).
    recent = drawn is not None and now - drawn < REDRAW_EVERY
    changes = None
    if seen is not None and recent and not filters.q:
        changes = changed_cards(request, board, filters, seen, now)
    if changes is not None:
        # Only out-of-band parts: the cards that changed and the poll.
        html = _changes_html(request, board, filters, changes, now, ascii_int(request.GET.get("drawn")))
        response = HttpResponse(html)
        response["HX-Reswap"] = "none"
    else:
        context = _columns_context(request, board, filters, now)
        response = _render_parts(
            request, [("boards/board.html#columns", context), ("boards/board.html#poll", {**context, "oob": True})]
        )
    # An event, not a guess about the screen: whatever else the page shows (the
    # drawer) checks itself against the fresh cards once they are in place.
    response["HX-Trigger-After-Settle"] = json.dumps({BOARD_CHANGED: {"revision": board.revision}})
    return response


@require_GET
def board_done(request: HttpRequest, slug: str) -> HttpResponse:
    """Every ticket resolved on this board, newest first, with filters; the board shows only the last week."""
    board = get_object_or_404(Board, slug=slug)
    form = DoneFilterForm(request.GET, assignees=permissions.assignable_users(board, request.user))
    tickets = Ticket.objects.filter(board=board, column__category=Column.Category.DONE)
    if form.is_valid():
        tickets = form.apply(tickets)
    tickets = (
        tickets.select_related("client", "assignee", "column").defer("description").order_by("-resolved_at", "-pk")
    )
    page = Paginator(tickets, DONE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "boards/done.html",
        {
            "board": board,
            "page": page,
            "form": form,
            "filtered": form.is_valid() and form.active,
            "page_query": query.urlencode(),
            "boards": list(Board.objects.all()),
            "can_work": permissions.can_work(request.user, board.pk),
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's search across every board: only tickets the user may open, a page of
    ``boards.search.LIMIT`` at a time (newest first; open ones first within a page)."""
    query = board_search.Query.parse(request.GET.get("q", ""))
    page = min(ascii_int(request.GET.get("page")) or 1, SEARCH_MAX_PAGE)
    size = board_search.LIMIT
    results: list[Ticket] = []
    more = False
    if not query.empty:
        # Newest first, a page at a time: ask for every match up to the end of this page, and one more.
        ids = board_search.matching_ids(query, request.user, limit=page * size + 1)
        more = len(ids) > page * size
        shown = ids[(page - 1) * size : page * size]
        tickets = Ticket.objects.filter(pk__in=shown).select_related("board", "column", "client", "assignee")
        results = sorted(tickets.defer("description"), key=lambda t: (not t.is_open, -t.pk))
    pages = {"q": query.text}
    context = {
        "query": query,
        "search_q": query.text,
        "results": results,
        "first": (page - 1) * size + 1,
        "last": (page - 1) * size + len(results),
        "previous_url": "?" + urlencode({**pages, "page": page - 1}) if page > 1 else "",
        "next_url": "?" + urlencode({**pages, "page": page + 1}) if more and page < SEARCH_MAX_PAGE else "",
        "now": timezone.now(),
    }
    return render(request, "boards/search.html", context)


# --- The ticket drawer --------------------------------------------------------------------


@require_GET
def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_user(request, pk)
    now = timezone.now()
    if request.htmx:
        screen = read_screen(request)
        back = board_url(screen.board, screen.filters) if screen.board else ticket.board.get_absolute_url()
        return render(request, "boards/ticket.html#drawer", _drawer_context(request, ticket, now, back))
    context = _drawer_context(request, ticket, now, ticket.board.get_absolute_url(), request.get_full_path())
    return render(request, "boards/ticket.html", context)


@require_POST
def ticket_move(request: HttpRequest, pk: int) -> HttpResponse:
    form = MoveForm(request.POST)
    # The board on screen: its columns name the drop target, and the answer draws its cards.
    screen = read_screen(request) if request.htmx else None
    column = _drop_column(screen, form.cleaned_data["column"]) if form.is_valid() else None
    if column is None:
        ticket = _get_ticket_for_change(request, pk, Ticket.objects.select_related("board").defer("description"))
        messages.error(request, "Pick a column to move the ticket to.")
        return _after_action(request, ticket.pk, fallback_url=ticket.board.get_absolute_url())
    # Who may move it is asked of the row the move locks and reads (404, 403 as _get_ticket_for_change).
    locked: list[Ticket] = []

    def may_move(ticket: Ticket) -> None:
        _check_can_change(request, ticket)
        locked.append(ticket)

    try:
        move = move_ticket(
            pk, actor=request.user, expected_version=form.cleaned_data["version"], to_column=column, check=may_move
        )
    except Ticket.DoesNotExist:
        raise Http404("No ticket with that number.") from None
    except MoveError as exc:
        messages.error(request, str(exc))
        ticket = locked[0]
        return _after_action(request, ticket.pk, fallback_url=ticket.board.get_absolute_url())
    ticket = locked[0]
    if move is not None:
        done = f"{ticket.number} resolved." if column.is_done else f"{ticket.number} moved to {column.name}."
        messages.success(request, done)
    # Moved, or already there: either way the card and what changed around it.
    return _after_card_move(request, ticket, fallback_url=ticket.board.get_absolute_url(), screen=screen)


def _drop_column(screen: Screen | None, pk: int) -> Column | None:
    """The column a card was dropped on: one of the board on screen (read with it), else read on its own."""
    if screen is not None and screen.board is not None:
        for column in board_column_list(screen.board):
            if column.pk == pk:
                return column
    return Column.objects.select_related("board").filter(pk=pk).first()


def _criteria_for(ticket: Ticket, direction: str, to_board: Board | None) -> list[Criterion]:
    """Criteria the dialog offers: this direction, or with ``to_board`` every direction leading there."""
    if to_board is None:
        return manual_criteria(ticket, direction)
    found = chain.from_iterable(manual_criteria(ticket, d, to_board) for d in Direction.values)
    return sorted(found, key=lambda c: (c.position, c.pk))


@require_http_methods(["GET", "POST"])
def ticket_criteria(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    """The escalate / de-escalate / transfer dialog, and the move it makes."""
    ticket = _get_ticket_for_change(request, pk)
    slug = request.POST.get("to") if request.method == "POST" else request.GET.get("to")
    to_board = _get_board_param(slug) if slug else None
    criteria = _criteria_for(ticket, direction, to_board)
    origin = ticket.board.get_absolute_url()

    if request.method == "POST":
        form = CriterionForm(request.POST, criteria=criteria)
        posted_version = ascii_int(request.POST.get("version"))
        try:
            if posted_version is not None:
                services.check_version(ticket, posted_version)
            if form.is_valid():
                criterion = next(c for c in criteria if c.pk == form.cleaned_data["criterion"])
                move = services.move_with_criterion(
                    ticket,
                    actor=request.user,
                    criterion=criterion,
                    expected_version=form.cleaned_data["version"],
                    note=form.cleaned_data["note"],
                )
                messages.success(request, _move_message(ticket, move, criterion))
                return _after_action(request, ticket.pk, fallback_url=origin, close_dialog=True)
        except MoveError as exc:
            messages.error(request, str(exc))
            return _after_action(request, ticket.pk, fallback_url=origin, close_dialog=True)
    else:
        form = CriterionForm(initial={"version": ticket.version}, criteria=criteria)

    context = {
        "ticket": ticket,
        "form": form,
        "criteria": criteria,
        "options": [(c, *c.destination(ticket.board, ticket.tier)) for c in criteria],
        "direction": direction,
        "direction_label": _dialog_label(direction, criteria, to_board),
        "to_board": to_board,
        "action_url": reverse("ticket_criteria", args=[ticket.pk, direction]),
        "next_url": safe_next(request, origin),
        "checked": str(form["criterion"].value() or ""),
        "inline": bool(request.htmx),
    }
    if request.htmx and request.method == "POST":
        # Invalid: show the dialog again with its errors, in place.
        return _render_parts(request, [_messages_part(), ("boards/dialog.html#dialog_oob", context)])
    if request.htmx:
        return render(request, "boards/dialog.html#dialog", context)
    return render(request, "boards/dialog.html", context, status=400 if request.method == "POST" else 200)


def _dialog_label(direction: str, criteria: list[Criterion], to_board: Board | None) -> str:
    directions = {c.direction for c in criteria}
    if to_board is not None and len(directions) == 1:
        direction = directions.pop()
    return Direction(direction).label


def _move_message(ticket: Ticket, move: Move | None, criterion: Criterion) -> str:
    if move is None:
        return f"{ticket.number} is already there."
    verb = VERBS.get(move.direction, "moved")
    return (
        f"{ticket.number} {verb} to {move.to_board.name} · {move.to_column.name} (tier {move.to_tier}): "
        f"{criterion.name}."
    )


@require_POST
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_change(request, pk)
    form = _update_form(request, ticket, request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _after_action(request, ticket.pk, fallback_url=ticket.get_absolute_url())

    data = form.cleaned_data
    changes: dict = {}
    if data["assign_to_me"]:
        changes["assignee"] = request.user
    elif "assignee" in request.POST:
        changes["assignee"] = data["assignee"]
    if request.POST.get("tier"):
        changes["tier"] = data["tier"]
    # A full form says so with `facts`: an unticked box then means "no".
    if "facts" in request.POST or "needs_onsite" in request.POST:
        changes["needs_onsite"] = data["needs_onsite"]
    if "facts" in request.POST or "required_skills" in request.POST:
        changes["required_skills"] = data["required_skills"]

    try:
        result = services.update_ticket(ticket, actor=request.user, expected_version=data["version"], **changes)
    except MoveError as exc:
        messages.error(request, str(exc))
    else:
        _update_messages(request, ticket, result)
    return _after_action(request, ticket.pk, fallback_url=ticket.get_absolute_url())


def _update_messages(request: HttpRequest, ticket: Ticket, result: services.UpdateResult) -> None:
    if not result.changed:
        messages.info(request, f"Nothing to change on {ticket.number}.")
        return
    labels = {
        "assignee": "assignee",
        "needs_onsite": "needs onsite",
        "required_skills": "required skills",
        "tier": "tier",
    }
    saved = ", ".join(labels[name] for name in result.changed)
    messages.success(request, f"{ticket.number} saved: {saved}.")
    for move in result.moves:
        if move.criterion_id:
            messages.warning(request, _move_message(ticket, move, move.criterion))


@require_POST
def ticket_note(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_change(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_note(
            ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            internal=form.cleaned_data["internal"],
            minutes_worked=form.cleaned_data["minutes_worked"] or 0,
        )
        kind = "Internal note" if form.cleaned_data["internal"] else "Customer-visible note"
        messages.success(request, f"{kind} added to {ticket.number}.")
        response = _after_action(request, ticket.pk, fallback_url=ticket.get_absolute_url())
        # The browser keeps a typed note across drawer redraws, except the one that saved it.
        response["X-Switchback-Note-Saved"] = str(ticket.pk)
        return response
    messages.error(request, _first_error(form))
    return _after_action(request, ticket.pk, fallback_url=ticket.get_absolute_url())


@require_POST
def ticket_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_change(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete; reload and try again.")
    else:
        try:
            move = services.resolve_ticket(
                ticket,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                note=form.cleaned_data["note"],
                internal=form.cleaned_data["internal"],
            )
        except MoveError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{ticket.number} resolved." if move else f"{ticket.number} is already resolved.")
    return _after_action(request, ticket.pk, fallback_url=ticket.board.get_absolute_url())


@require_POST
def ticket_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a resolved ticket on the board it was resolved on (``boards.services.reopen_ticket``)."""
    ticket = _get_ticket_for_change(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete; reload and try again.")
    elif ticket.is_open:
        messages.info(request, f"{ticket.number} is already open.")
    else:
        try:
            move = services.reopen_ticket(ticket, actor=request.user, expected_version=form.cleaned_data["version"])
        except MoveError as exc:
            messages.error(request, str(exc))
        else:
            if move is not None:
                messages.success(request, f"{ticket.number} reopened in {move.to_column.name} on {move.to_board.name}.")
    return _after_action(request, ticket.pk, fallback_url=ticket.get_absolute_url())


@require_POST
def ticket_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow or stop following any ticket: a followed ticket opens for you and stays on your home."""
    ticket = get_object_or_404(_ticket_queryset(), pk=pk)
    if not permissions.works_the_desk(request.user):
        raise PermissionDenied("Only technicians and managers follow tickets.")
    following = request.POST.get("follow", "1") != "0"
    services.follow(ticket, request.user, following=following)
    if following:
        messages.success(request, f"You follow {ticket.number}: it stays on your home until it is resolved.")
    else:
        messages.info(request, f"You no longer follow {ticket.number}.")
    # The card on screen changes (it opens now): redraw it with the board.
    return _after_action(request, ticket.pk, fallback_url=ticket.board.get_absolute_url())


@require_POST
def ticket_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Quick add: open a ticket on this board from the board page."""
    board = get_object_or_404(Board, slug=slug)
    if not permissions.can_work(request.user, board.pk):
        raise PermissionDenied(f"You do not work the {board.name} board.")
    form = QuickAddForm(request.POST)
    if form.is_valid():
        ticket = services.create_ticket(board, actor=request.user, **form.cleaned_data)
        messages.success(request, f"{ticket.number} opened on {ticket.board.name}: {ticket.title}")
        fresh = QuickAddForm()
    else:
        messages.error(request, _first_error(form))
        fresh = form
    return _after_action(
        request,
        None,
        fallback_url=board.get_absolute_url(),
        extra=[("boards/board.html#quick_add", {"board": board, "quick_add": fresh, "oob": True})],
    )
