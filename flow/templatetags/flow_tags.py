"""The Flow page's headline figures on a manager's home page: ``{% flow_summary %}``.

An inclusion tag rather than a view change, so the home view stays as it is:
the tag asks ``flow.gauges.headline`` (the same definitions as the Flow page's
gauges) and shows whichever of its figures are there, so a missing key leaves
a figure out instead of breaking the page. Technicians see nothing.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import number_format

from boards.models import is_manager
from flow import gauges

register = template.Library()

# (key in the headline, label, shown as). Order is the order on the page.
FIGURES = [
    ("escalations", "escalations", "count"),
    ("de_escalations", "de-escalations", "count"),
    ("by_scheduler", "escalated by the scheduler", "count"),
    ("first_board_resolution", "resolved on their first board", "share"),
    ("bounces", "bounces", "count"),
    ("wasted_escalations", "wasted escalations", "count"),
    ("overdue_now", "overdue now", "count"),
]
# Figures that call for attention when above zero, and the symbol that says so
# (colour is never the only cue; the same symbols as the cards' clocks).
ALERTS = {"overdue_now": "✖", "bounces": "⚠", "wasted_escalations": "⚠"}


def _shown(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{round(float(value) * 100)}%"
    return number_format(value, force_grouping=True)


@register.inclusion_tag("flow/_home_summary.html", takes_context=True)
def flow_summary(context) -> dict:
    user = context.get("user")
    if user is None or not is_manager(user):
        return {"show": False}
    now = context.get("now")
    headline = gauges.headline(now if isinstance(now, datetime) else timezone.now()) or {}
    figures = [
        {
            "key": key,
            "label": label,
            "value": _shown(headline[key], kind),
            "mark": ALERTS.get(key, "") if headline[key] else "",
        }
        for key, label, kind in FIGURES
        if key in headline
    ]
    moves = headline.get("moves")
    return {
        "show": True,
        "period_label": headline.get("period_label") or "",
        "moves": None if moves is None else number_format(moves, force_grouping=True),
        "figures": figures,
    }
