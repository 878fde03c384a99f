"""The board's read model: what a card shows, built from plain rows, in a fixed number of queries.

A board draws hundreds of cards, so cards come from ``.values()`` rows rather
than model instances, the lookups every card shares (criteria, column
options, URL patterns) are made once per page, and the HTML is drawn by
``board_tags.render_card``. The views (boards/views.py) compose it into pages
and htmx answers; nothing here knows about requests beyond the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from calendars.working import calendars_of, pause_label
from helpdesk.compiled import CompiledValues
from routing.models import Criterion, Direction, Move
from routing.services import active_criteria, bounce_holds

from . import permissions
from .forms import BoardFilters
from .models import Board, Column, Ticket, Watch, person_name
from .screen import url_pattern
from .templatetags.board_tags import countdown_badge, warning_lead

# The done column shows tickets closed in the last week, at most DONE_LIMIT of
# them, so the board page stays small however long the desk has been running.
DONE_WINDOW = timedelta(days=7)
DONE_LIMIT = 30

# A board filtered by text ("printer") draws at most this many open cards.
SEARCH_CARDS = 200

# What changed since a page was drawn (changed_cards). A write stamps the
# ticket's updated_at (and its Move's created_at) a moment before it commits,
# so a change that committed just after the page was read can carry a stamp
# from just before: look that far further back. The single-ticket door commits
# within milliseconds of its stamp (plus its wait for the board's row lock);
# the sweep's batch may take longer, and what a card-by-card answer misses is
# mended by the poll's whole redraw once a minute (views.REDRAW_EVERY). Sending
# a card the browser already has again costs nothing but bytes.
CHANGE_SLACK = timedelta(milliseconds=250)
# More changed cards than this, or a page older than CHANGE_MAX_AGE (a laptop
# that slept): redraw the whole board instead. Fifty technicians moving on one
# board send each other about fifty cards per answer, whatever the pace.
CHANGE_LIMIT = 200
CHANGE_MAX_AGE = timedelta(minutes=10)


@dataclass
class Card:
    """What a card shows. Built from plain rows (``.values()``): a board has hundreds."""

    pk: int
    version: int
    column_id: int
    priority: int
    tier: int
    title: str
    client: str
    assignee: str
    done: bool
    countdown: str
    url: str
    move_url: str
    escalate_url: str
    de_escalate_url: str
    can_move: bool
    # The drawer opens for this user (boards.permissions.can_view); else the card offers Follow.
    can_open: bool
    follow_url: str
    can_escalate: bool
    can_de_escalate: bool
    column_options: str
    # Why the ticket is flagged as bouncing between boards (routing.models.BounceFlag), "" when it is not;
    # and whether the scheduler leaves it alone meanwhile (routing.services.bounce_holds).
    bounce: str = ""
    bounce_held: bool = False
    # A ticket opened by an alert: its source's name, and whether the alert
    # resolved at the source while the ticket was being worked (intake.Alert).
    alert_source: str = ""
    alert_held: bool = False


# The fields a card needs, read as plain rows rather than model instances
# (a tenth of the cost for a few hundred cards).
CARD_FIELDS = (
    "pk",
    "title",
    "version",
    "priority",
    "tier",
    "column_id",
    "deadline_at",
    "deadline_criterion_id",
    "clock_started_at",
    "resolved_at",
    "client__name",
    "assignee_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    # One LEFT JOIN through the ticket's unique alert link, not a query per card.
    "alert__source__name",
    "alert__resolved_while_worked",
    # And one through its bounce flag (one row per flagged ticket).
    "bounce_flag__reason",
)


def has_sender() -> Exists:
    """Whether a ticket row has a sender (``routing.services.sender_of``) as a condition on the row.

    An escalation that brought it onto the board it is on from another board:
    the board a return-to-sender criterion would send it back to. Probed per
    row through the ticket's moves (move_ticket_timeline_idx), in the rows'
    own query.
    """
    return Exists(
        Move.objects.filter(ticket=OuterRef("pk"), direction=Direction.ESCALATE, to_board=OuterRef("board_id"))
        .filter(from_board__isnull=False)
        .exclude(from_board=OuterRef("board_id"))
    )


def card_values(tickets: QuerySet[Ticket], needs_sender: bool, *extra: str) -> QuerySet:
    """``tickets`` as the plain rows ``CardMaker.make`` reads: ``.values()`` of the card's fields and ``extra``,
    and whether each has a sender when the maker ``needs_sender``."""
    if needs_sender:
        tickets = tickets.annotate(has_sender=has_sender())
        extra = (*extra, "has_sender")
    return tickets.values(*CARD_FIELDS, *extra)


@dataclass
class ColumnView:
    column: Column
    cards: list[Card]
    more: bool = False

    @property
    def over_limit(self) -> bool:
        limit = self.column.wip_limit
        return bool(limit) and len(self.cards) > (limit or 0)


def paused_badge(label: str) -> str:
    """A running clock outside working hours: no data-deadline, so app.js leaves the words alone."""
    return format_html('<span class="countdown paused" title="Outside working hours">‖ {}</span>', label)


class CriteriaIndex:
    """Active criteria read once per page: which manual directions a card offers, time limits.

    Same rule as ``routing.services.manual_criteria`` (``offered_by_hand`` and
    ``applies_to``), without a query per card. A return-to-sender criterion
    applies only to a ticket with a sender (``routing.services.sender_of``):
    ``directions`` leaves those out, ``returns_to_sender`` says whether one
    applies to a ticket here once it has a sender (``has_sender``, read with
    the card's row).
    """

    def __init__(self) -> None:
        criteria = active_criteria()
        self.time_criteria = {c.pk: c for c in criteria if c.trigger == Criterion.Trigger.TIME}
        self.manual = [c for c in criteria if c.offered_by_hand and not c.to_sender]
        self.to_sender = [c for c in criteria if c.offered_by_hand and c.to_sender]
        self._directions: dict[tuple[int, int], frozenset[str]] = {}
        self._returns: dict[tuple[int, int], bool] = {}

    def directions(self, board: Board, tier: int) -> frozenset[str]:
        """The directions offered for any ticket at (board, tier), return to sender aside."""
        key = (board.pk, tier)
        if key not in self._directions:
            self._directions[key] = frozenset(c.direction for c in self.manual if c.applies_to(board, tier))
        return self._directions[key]

    def may_return(self, board: Board) -> bool:
        """Whether a return-to-sender criterion may apply to some ticket on this board."""
        return any(c.from_board_id in (None, board.pk) for c in self.to_sender)

    def returns_to_sender(self, board: Board, tier: int) -> bool:
        """Whether a return-to-sender criterion applies at (board, tier) to a ticket that has a sender."""
        key = (board.pk, tier)
        if key not in self._returns:
            # Asked without a sender, applies_to answers for a ticket that has one.
            self._returns[key] = any(c.applies_to(board, tier) for c in self.to_sender)
        return self._returns[key]


class CardMaker:
    """Builds the cards of one board; the lookups every card shares are made once."""

    def __init__(self, request: HttpRequest, board: Board, columns: list[Column], now: datetime) -> None:
        self.board = board
        self.now = now
        user_pk = self.user_pk = request.user.pk
        self.can_move = permissions.can_work(request.user, board.pk)
        # Read-only boards: the tickets this user follows here open like their own.
        self.followed: frozenset[int] = (
            frozenset()
            if self.can_move or user_pk is None
            else frozenset(
                Watch.objects.filter(user_id=user_pk, ticket__board=board).values_list("ticket_id", flat=True)
            )
        )
        self.criteria = CriteriaIndex()
        # De-escalate by return to sender needs the ticket's sender: read with the rows, only where it may apply.
        self.needs_sender = self.can_move and self.criteria.may_return(board)
        self.bounce_held = bounce_holds()
        # Outside the board's working hours its clocks stand still: running clocks show
        # "paused · outside hours, resumes Mon 08:00" instead of a countdown (calendars.working).
        self.paused = pause_label(calendars_of([board])[board.pk], now)
        # The <option>s of a card's column select, once per column rather than per card.
        self.options = {
            current.pk: format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((c.pk, " selected" if c.pk == current.pk else "", c.name) for c in columns),
            )
            for current in columns
        }
        self.urls = {
            "url": url_pattern("ticket"),
            "move_url": url_pattern("ticket_move"),
            "escalate_url": url_pattern("ticket_criteria", Direction.ESCALATE),
            "de_escalate_url": url_pattern("ticket_criteria", Direction.DE_ESCALATE),
            "follow_url": url_pattern("ticket_follow"),
        }

    def values(self, tickets: QuerySet[Ticket], *extra: str) -> QuerySet:
        """``tickets`` as the plain rows ``make`` reads (``.values()``, with ``extra``), in the same one query."""
        return card_values(tickets, self.needs_sender, *extra)

    def make(self, row: dict) -> Card:
        is_open = row["resolved_at"] is None
        directions = self.criteria.directions(self.board, row["tier"]) if self.can_move and is_open else frozenset()
        de_escalate = Direction.DE_ESCALATE in directions or (
            is_open and row.get("has_sender", False) and self.criteria.returns_to_sender(self.board, row["tier"])
        )
        assignee = ""
        if row["assignee__username"]:
            assignee = person_name(row["assignee__first_name"], row["assignee__last_name"], row["assignee__username"])
        pk = row["pk"]
        return Card(
            pk=pk,
            version=row["version"],
            column_id=row["column_id"],
            priority=row["priority"],
            tier=row["tier"],
            title=row["title"],
            client=row["client__name"] or "",
            assignee=assignee,
            done=not is_open,
            countdown=paused_badge(self.paused)
            if self.paused and is_open and row["deadline_at"] is not None
            else countdown_badge(
                self.now,
                warning_lead(self.criteria.time_criteria.get(row["deadline_criterion_id"]), row["priority"]),
                deadline_at=row["deadline_at"],
                clock_started_at=row["clock_started_at"],
                resolved_at=row["resolved_at"],
            ),
            can_move=self.can_move,
            can_open=self.can_move or pk in self.followed or row["assignee_id"] == self.user_pk,
            follow_url=self.urls["follow_url"].format(pk),
            can_escalate=Direction.ESCALATE in directions,
            can_de_escalate=de_escalate,
            column_options=self.options.get(row["column_id"], ""),
            bounce=row["bounce_flag__reason"] or "",
            bounce_held=self.bounce_held,
            alert_source=row["alert__source__name"] or "",
            alert_held=bool(row["alert__resolved_while_worked"]),
            url=self.urls["url"].format(pk),
            move_url=self.urls["move_url"].format(pk),
            escalate_url=self.urls["escalate_url"].format(pk),
            de_escalate_url=self.urls["de_escalate_url"].format(pk),
        )


def board_columns(request: HttpRequest, board: Board, filters: BoardFilters, now: datetime) -> list[ColumnView]:
    """The board's columns and their cards, in a fixed number of queries however many cards.

    Filtered by text, at most SEARCH_CARDS open cards (``matching_count`` tells how many match)."""
    columns = board_column_list(board)
    done_ids = [c.pk for c in columns if c.is_done]
    maker = CardMaker(request, board, columns, now)
    tickets = filters.apply(Ticket.objects.filter(board=board), request.user)
    # Served by ticket_board_column_idx; the done column by ticket_column_resolved_idx.
    open_rows = maker.values(tickets.open().by_urgency())
    if filters.q:
        # A search on the board draws its most urgent matches only; the page
        # says how many there are and links to the search, which pages them.
        open_rows = open_rows[:SEARCH_CARDS]
    recent_done = []
    if done_ids:
        recent_done = list(
            maker.values(tickets.filter(column_id__in=done_ids).recently_resolved(now - DONE_WINDOW))[: DONE_LIMIT + 1]
        )

    by_column: dict[int, list[Card]] = {c.pk: [] for c in columns}
    for row in chain(open_rows, recent_done[:DONE_LIMIT]):
        if row["column_id"] in by_column:
            by_column[row["column_id"]].append(maker.make(row))
    return [
        ColumnView(column=c, cards=by_column[c.pk], more=c.is_done and len(recent_done) > DONE_LIMIT) for c in columns
    ]


def read_board(slug: str) -> Board | None:
    """The board a page shows, with its calendar and its columns in order: one query, not three.

    The columns ride on the board as ``column_list`` (``board_column_list``
    reads them there); a board with no column yet is read on its own.
    """
    columns = list(Column.objects.filter(board__slug=slug).select_related("board__calendar").order_by("position", "pk"))
    if not columns:
        return Board.objects.select_related("calendar").filter(slug=slug).first()
    board = columns[0].board
    for column in columns:
        column.board = board  # one Board instance for all, as board.columns would give
    board.column_list = columns  # type: ignore[attr-defined]
    return board


def board_column_list(board: Board) -> list[Column]:
    """The board's columns in order: as ``read_board`` brought them, else read now."""
    columns = getattr(board, "column_list", None)
    return list(board.columns.order_by("position", "pk")) if columns is None else columns


@dataclass
class Changes:
    """The cards to (re)draw, the ticket numbers to take off the page, and the board's revision they show.

    ``revision`` is read in the same statement as the cards (None when no
    ticket changed): it is what the page shows once they are in place.
    """

    cards: list[Card]
    gone: list[int]
    revision: int | None = None


def changed_cards(
    request: HttpRequest,
    board: Board,
    filters: BoardFilters,
    since: datetime,
    now: datetime,
    *,
    also: int | None = None,
) -> Changes | None:
    """The cards that changed on ``board`` since a page of it was drawn at ``since``; None: redraw all.

    One read of the tickets that matter, with their card fields:

    1. tickets stamped (updated_at) since then, through ticket_updated_idx, that
       are on the board, or whose Move since then left it (move_ticket_timeline_idx:
       they went away), plus ``also`` (the ticket just acted on: a Follow
       changes its card for this user without stamping it);
    2. each marked ``shown`` when the page shows it: on the board, open or
       resolved in the done column's window, and through the filters.

    The shown ones are drawn; all the others are "gone", so a card that left,
    was resolved long ago or no longer matches a filter is taken off.

    Too many changes (CHANGE_LIMIT), a page too old or a time from the future
    answer None: the caller redraws the board.
    """
    if since > now + CHANGE_SLACK or now - since > CHANGE_MAX_AGE:
        return None
    cut = since - CHANGE_SLACK
    columns = board_column_list(board)
    maker = CardMaker(request, board, columns, now)
    values: dict[str, Any] = {
        "board": board.pk,
        "cut": cut,
        "done_ids": [c.pk for c in columns if c.is_done],
        "done_from": now - DONE_WINDOW,
        **({"also": also} if also is not None else {}),
    }
    shape = (maker.needs_sender, also is not None)
    if filters.active:
        # A filtered board's query holds the filters' own values: built and compiled afresh.
        matching = Q(Exists(filters.apply(Ticket.objects.filter(pk=OuterRef("pk")), request.user)))
        rows = list(_changed_tickets(shape, matching=matching, **values))
    else:
        rows = _CHANGED.rows(shape, **values)
    if len(rows) > CHANGE_LIMIT:
        return None
    return Changes(
        cards=[maker.make(row) for row in rows if row["shown"]],
        gone=sorted(row["pk"] for row in rows if not row["shown"]),
        revision=rows[0]["board_revision"] if rows else None,
    )


def _changed_tickets(
    shape: tuple[bool, bool],
    *,
    board: int,
    cut: datetime,
    done_ids: list[int],
    done_from: datetime,
    also: int | None = None,
    matching: Q | None = None,
) -> QuerySet:
    """``changed_cards``'s read: the card rows of the tickets changed on ``board`` since ``cut``, and ``also``.

    ``shape``: (whether the rows say if each ticket has a sender, whether ``also`` is given).
    ``matching``: the board's filters, as a condition on the ticket row.
    """
    needs_sender, _ = shape
    shown = Q(board_id=board) & (Q(resolved_at__isnull=True) | Q(column_id__in=done_ids, resolved_at__gte=done_from))
    if matching is not None:
        shown &= matching
    left_here = Move.objects.filter(ticket=OuterRef("pk"), from_board_id=board, created_at__gte=cut)
    changed = Q(updated_at__gte=cut) & (Q(board_id=board) | Q(Exists(left_here)))
    if also is not None:
        changed |= Q(pk=also)
    tickets = (
        Ticket.objects.filter(changed)
        .annotate(
            shown=ExpressionWrapper(shown, output_field=BooleanField()),
            board_revision=Subquery(Board.objects.filter(pk=board).values("revision")),
        )
        .order_by("pk")  # app.js puts each card in card order itself
    )
    return card_values(tickets, needs_sender, "shown", "board_revision")[: CHANGE_LIMIT + 1]


# Every move and every poll runs it: compiled once per shape (helpdesk.compiled).
_CHANGED = CompiledValues(_changed_tickets)


def matching_count(request: HttpRequest, board: Board, filters: BoardFilters) -> int:
    """How many open cards a text-filtered board matches (it draws at most SEARCH_CARDS of them)."""
    return filters.apply(Ticket.objects.filter(board=board), request.user).open().count()
