"""Small display helpers for cards and the drawer: countdowns, priority badges, move summaries.

The countdown's text and colour are computed here for the first paint (and for
browsers without JavaScript); static/switchback/app.js recomputes the same
thing every second from ``data-deadline`` and ``data-warn-from`` (the moment
the warning stretch begins), so the warning rule lives here alone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import escape

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from boards.models import Ticket, display_name
from routing.models import Criterion

register = template.Library()

# With no warning set on its criterion, the last fifth of a time limit is the warning stretch.
WARNING_FRACTION = 0.2

CLOCK_ICONS = {"ok": "◷", "warning": "⚠", "overdue": "✖"}
PRIORITY_ICONS = {1: "▲▲", 2: "▲", 3: "●", 4: "▽"}
PRIORITY_WORDS = {1: "Critical", 2: "High", 3: "Normal", 4: "Low"}
# The short badges, made once per process (cards and list rows show the same four).
_PRIORITY_BADGES: dict[int, str] = {}
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def format_span(seconds: float) -> str:
    """A span in words a technician can't mistake for a clock time: "13 min", "1 h 05 min", "2 d 3 h".

    Minutes are whole and rounded up while time is left ("1 min" until the
    very end, then "under 1 min"), so the text changes once a minute. Kept in
    step with app.js's formatSpan (tests/e2e/test_countdown.py runs both).
    """
    total = int(abs(seconds))
    if total < 60:
        return "under 1 min"
    minutes_total = -(-total // 60) if seconds > 0 else total // 60
    days, rest = divmod(minutes_total, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def warning_lead(criterion: Criterion | None, priority: int) -> timedelta | None:
    """How long before the deadline the card turns to "warning" for a ticket of this priority.

    The criterion's own warning when a manager set one (the bell's moment,
    ``Criterion.warning_lead_for``), else the last fifth of the priority's limit.
    """
    if criterion is None:
        return None
    lead = criterion.warning_lead_for(priority)
    if lead is not None:
        return lead
    limit = criterion.limit_for(priority)
    return timedelta(seconds=WARNING_FRACTION * limit * 60) if limit else None


def clock_state(deadline: datetime, now: datetime, lead: timedelta | None) -> tuple[str, str]:
    """(state, text) for a deadline: ok, warning (within ``lead`` of it) or overdue."""
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        return "overdue", f"Overdue by {format_span(remaining)}"
    if lead and remaining <= lead.total_seconds():
        return "warning", f"{format_span(remaining)} left"
    return "ok", f"{format_span(remaining)} left"


def countdown_badge(
    now: datetime,
    lead: timedelta | None,
    *,
    deadline_at: datetime | None,
    clock_started_at: datetime | None,
    resolved_at: datetime | None,
) -> str:
    """The card's clock: time left before the next deadline, or why there is none."""
    if resolved_at is not None:
        return mark_safe('<span class="countdown resolved">✓ Resolved</span>')
    if deadline_at is None:
        if clock_started_at is None:
            return mark_safe('<span class="countdown paused" title="Clock paused while waiting">‖ Paused</span>')
        # A running clock with no time criterion here: nothing to count down, so nothing to show.
        return ""
    state, text = clock_state(deadline_at, now, lead)
    # A plain format string, not format_html: every piece is ours (a state
    # name, ISO timestamps, words from format_span), no text anyone typed, and
    # a move's answer draws this for every changed card.
    warn_from = f' data-warn-from="{(deadline_at - lead).isoformat()}"' if lead else ""
    return mark_safe(
        f'<span class="countdown {state}" data-deadline="{deadline_at.isoformat()}"{warn_from} '
        f'title="Next deadline: {timezone.localtime(deadline_at).strftime("%b %d, %H:%M")}">'
        f"{CLOCK_ICONS[state]} {text}</span>"
    )


def priority_badge(value: int, long: bool = False) -> str:
    word = PRIORITY_WORDS.get(value, "")
    return format_html(
        '<span class="prio p{}" title="P{} · {}"><span aria-hidden="true">{}</span> P{}{}</span>',
        value,
        value,
        word,
        PRIORITY_ICONS.get(value, ""),
        value,
        f" · {word}" if long else "",
    )


@register.simple_tag(takes_context=True)
def countdown(context, ticket: Ticket, criterion: Criterion | None = None) -> str:
    """``{% countdown ticket ticket.deadline_criterion %}``: the ticket's clock, warning as its criterion says."""
    return countdown_badge(
        context["now"],
        warning_lead(criterion, ticket.priority),
        deadline_at=ticket.deadline_at,
        clock_started_at=ticket.clock_started_at,
        resolved_at=ticket.resolved_at,
    )


@register.simple_tag
def priority(value: int, long: bool = False) -> str:
    if long:
        return priority_badge(value, long)
    # Four badges in all: made once, not once per row of a list.
    badge = _PRIORITY_BADGES.get(value)
    if badge is None:
        badge = _PRIORITY_BADGES[value] = priority_badge(value)
    return badge


# --- The card ------------------------------------------------------------------------
# A board draws hundreds of cards. Through the template engine a card costs
# about a third of a millisecond (some forty variable lookups); as the format
# strings below it costs a few dozen microseconds. Text (title, client,
# assignee, URLs) goes through html.escape, the very function Django's
# autoescape uses; numbers are ints; the other pieces are already-safe HTML.
#
# Kept deliberately (issue 9 weighed a single Jinja2 template at about 1.4x the
# cost): the board's budget is 150 ms for 500 cards, and the rule "every text
# goes through escape()" is held by tests/boards/test_views_board.py's hostile
# titles and clients. The tests read cards as parsed HTML (tests/boards/html.py),
# so attribute order here is free to change.

_CARD = (
    '<article class="card p{priority}{done}" id="ticket-{pk}" data-ticket-id="{pk}" data-version="{version}" '
    'data-column-id="{column_id}"{draggable} tabindex="0" aria-labelledby="title-{pk}"{oob}>'
    '<div class="card-top"><span class="card-number">#{pk}</span>{priority_badge}'
    '<span class="tier" title="Needs tier {tier}">T{tier}</span>{bounce}</div>'
    "{title}"
    '<div class="card-meta"><span class="client">{client}</span>'
    '<span class="assignee{unassigned}">{assignee}</span></div>'
    "{alert}{countdown}{actions}</article>"
)
# A ticket opened by an alert names its source; "resolved at source" when the
# alert ended while someone was working the ticket (it stays open for them).
_CARD_ALERT = (
    '<div class="card-alert"><span class="alert-source" title="Opened by an alert from {source}">⚡ {source}</span>'
    "{held}</div>"
)
_CARD_ALERT_HELD = (
    '<span class="alert-held" title="The alert resolved at its source; close the ticket when done">'
    "✓ Resolved at source</span>"
)
# A ticket passed back and forth between boards (routing.models.BounceFlag): the
# reason it was flagged, and whether the scheduler leaves it alone meanwhile.
_CARD_BOUNCE = '<span class="bounce" title="{title}">↔ bouncing</span>'
BOUNCE_HELD = "automatic moves are held until a person moves it"
BOUNCE_NOT_HELD = "a person's move clears this"


def bounce_title(reason: str, held: bool) -> str:
    """The bounce badge's explanation (plain text; the caller escapes it)."""
    return f"Bouncing between boards: {reason}; {BOUNCE_HELD if held else BOUNCE_NOT_HELD}."


# The no-JavaScript move: a select of this board's columns and a Move button.
_CARD_ACTIONS = (
    '<div class="card-actions">'
    '<form class="card-move" method="post" action="{move_url}" hx-post="{move_url}" hx-swap="none">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token}">'
    '<input type="hidden" name="version" value="{version}">'
    '<select name="column" aria-label="Column for #{pk}">{options}</select><button type="submit">Move</button>'
    "</form>{escalate}</div>"
)
_CARD_ESCALATE = (
    '<form class="card-escalate" method="get" action="{action}" hx-target="#dialog-slot" hx-swap="innerHTML">'
    "{buttons}</form>"
)
# The drawer opens only for tickets the user may see (boards.permissions.can_view);
# elsewhere the title is text, not a link that would answer 404, and the card
# offers Follow, after which it opens.
_CARD_TITLE_LINK = '<a class="card-title" id="title-{pk}" href="{url}" hx-get="{url}">{title}</a>'
_CARD_TITLE_TEXT = '<span class="card-title" id="title-{pk}">{title}</span>'
_CARD_FOLLOW = (
    '<div class="card-actions"><form class="card-follow" method="post" action="{url}" hx-post="{url}" hx-swap="none">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token}">'
    '<input type="hidden" name="follow" value="1"><button type="submit" class="link">Follow</button></form></div>'
)
_CARD_BUTTON = '<button type="submit" formaction="{url}" hx-get="{url}">{label}</button>'


def render_card(card, csrf_token: str, *, oob: bool = False) -> str:
    """One card's HTML from a ``boards.cards.Card``."""
    badge = _PRIORITY_BADGES.get(card.priority)
    if badge is None:
        badge = _PRIORITY_BADGES[card.priority] = priority_badge(card.priority)
    actions = ""
    if card.can_move:
        buttons = []
        if card.can_escalate:
            buttons.append(_CARD_BUTTON.format(url=escape(card.escalate_url), label="Escalate"))
        if card.can_de_escalate:
            buttons.append(_CARD_BUTTON.format(url=escape(card.de_escalate_url), label="De-escalate"))
        escalate = ""
        if buttons:
            first = card.escalate_url if card.can_escalate else card.de_escalate_url
            escalate = _CARD_ESCALATE.format(action=escape(first), buttons="".join(buttons))
        actions = _CARD_ACTIONS.format(
            move_url=escape(card.move_url),
            csrf_token=escape(csrf_token),
            version=int(card.version),
            pk=int(card.pk),
            options=conditional_escape(card.column_options),
            escalate=escalate,
        )
    elif not card.can_open and not card.done:
        actions = _CARD_FOLLOW.format(url=escape(card.follow_url), csrf_token=escape(csrf_token))
    return mark_safe(
        _CARD.format(
            priority=int(card.priority),
            done=" is-done" if card.done else "",
            pk=int(card.pk),
            version=int(card.version),
            column_id=int(card.column_id),
            draggable=' draggable="true"' if card.can_move else ' data-readonly="true"',
            oob=' hx-swap-oob="true"' if oob else "",
            priority_badge=badge,
            tier=int(card.tier),
            bounce=_CARD_BOUNCE.format(title=escape(bounce_title(card.bounce, card.bounce_held)))
            if card.bounce
            else "",
            title=(_CARD_TITLE_LINK if card.can_open else _CARD_TITLE_TEXT).format(
                pk=int(card.pk), url=escape(card.url), title=escape(card.title)
            ),
            client=escape(card.client or "No client"),
            unassigned="" if card.assignee else " none",
            assignee=escape(card.assignee or "Unassigned"),
            alert=_CARD_ALERT.format(source=escape(card.alert_source), held=_CARD_ALERT_HELD if card.alert_held else "")
            if card.alert_source
            else "",
            countdown=conditional_escape(card.countdown),
            actions=actions,
        )
    )


# A card sent on its own (a move's answer, the poll's changes): appended out of
# band to its column's list; app.js takes the page's old copy away first and
# puts the new one in card order (the column may hold it already, or not yet).
_CARD_OOB = '<div hx-swap-oob="beforeend:#column-cards-{column_id}"><li>{card}</li></div>'


def render_card_oob(card, csrf_token: str) -> str:
    return mark_safe(_CARD_OOB.format(column_id=int(card.column_id), card=render_card(card, csrf_token)))


@register.simple_tag(takes_context=True)
def card(context, card) -> str:
    return render_card(card, str(context.get("csrf_token", "")), oob=bool(context.get("card_oob")))


@register.filter
def person(user) -> str:
    if user is None:
        return "someone"
    return display_name(user)


@register.filter
def safe_colour(value: str) -> str:
    """A board colour fit for a style attribute (managers type it), else a neutral one."""
    return value if value and _COLOUR.match(value) else "#6b7280"


@register.simple_tag
def move_summary(move) -> str:
    """One line saying what a move did: opened, changed board, column or tier."""
    if move.from_board_id is None:
        return format_html("Opened on {} · {} (tier {})", move.to_board.name, move.to_column.name, move.to_tier)
    tier = format_html(" · tier {} → {}", move.from_tier, move.to_tier) if move.from_tier != move.to_tier else ""
    if move.from_board_id != move.to_board_id:
        verb = move.get_direction_display() if move.direction else "Moved"
        return format_html(
            "{} {} → {} · {}{}", verb, move.from_board.name, move.to_board.name, move.to_column.name, tier
        )
    if move.from_column_id != move.to_column_id:
        verb = "Resolved" if move.to_column.is_done else "Moved"
        return format_html("{}: {} → {}{}", verb, move.from_column.name, move.to_column.name, tier)
    return format_html("Tier {} → {}", move.from_tier, move.to_tier)
