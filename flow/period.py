"""What the Flow page looks at: a period and, optionally, one board.

Read from the URL and written back to it, so a manager can share exactly the
view they are looking at. Bad input never errors: a hand-edited URL falls back
to the default period and says so (``FlowQuery.problems``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.utils import timezone

from boards.models import Board

RANGES = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
DEFAULT_RANGE = "7d"
CUSTOM = "custom"
# The longest custom period: a year keeps every query bounded.
MAX_CUSTOM = timedelta(days=366)
DEFAULT_STALE_DAYS = 3


class FlowQueryForm(forms.Form):
    range = forms.ChoiceField(choices=[*((k, v[0]) for k, v in RANGES.items()), (CUSTOM, "Custom")], required=False)
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)
    board = forms.SlugField(max_length=60, required=False)
    stale = forms.IntegerField(min_value=1, max_value=365, required=False)


@dataclass(frozen=True)
class FlowQuery:
    """The period [start, end) and the board filter (None: every board)."""

    start: datetime
    end: datetime
    range_key: str = DEFAULT_RANGE
    board: Board | None = None
    stale_days: int = DEFAULT_STALE_DAYS
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def from_query(cls, data: QueryDict, now: datetime) -> FlowQuery:
        form = FlowQueryForm(data)
        form.is_valid()
        cleaned = {name: form.cleaned_data.get(name) for name in form.fields if name not in form.errors}
        problems = [f"Ignored {name}: {errors[0]}" for name, errors in form.errors.items()]

        board = None
        if slug := cleaned.get("board"):
            board = Board.objects.filter(slug=slug).first()
            if board is None:
                problems.append(f"No board “{slug}”; showing every board.")

        range_key = cleaned.get("range") or DEFAULT_RANGE
        start = end = None
        if range_key == CUSTOM:
            first, last = cleaned.get("start"), cleaned.get("end")
            if first and last and first <= last and (last - first) <= MAX_CUSTOM:
                start, end = _day_start(first), _day_start(last + timedelta(days=1))
            else:
                problems.append("A custom period needs a start and an end date, in order, at most a year apart.")
                range_key = DEFAULT_RANGE
        if start is None:
            end = now
            start = now - RANGES[range_key][1]
        return cls(
            start=start,
            end=end,
            range_key=range_key,
            board=board,
            stale_days=cleaned.get("stale") or DEFAULT_STALE_DAYS,
            problems=tuple(problems),
        )

    @property
    def label(self) -> str:
        if self.range_key in RANGES:
            return RANGES[self.range_key][0]
        last_day = (timezone.localtime(self.end) - timedelta(days=1)).date()
        return f"{timezone.localtime(self.start).date():%d %b %Y} – {last_day:%d %b %Y}"

    def params(self, **override) -> dict[str, str]:
        """The query as URL parameters (defaults left out), with ``override`` applied (None drops a key)."""
        params: dict[str, str] = {}
        if self.range_key != DEFAULT_RANGE:
            params["range"] = self.range_key
        if self.range_key == CUSTOM:
            params["start"] = timezone.localtime(self.start).date().isoformat()
            params["end"] = (timezone.localtime(self.end) - timedelta(days=1)).date().isoformat()
        if self.board is not None:
            params["board"] = self.board.slug
        if self.stale_days != DEFAULT_STALE_DAYS:
            params["stale"] = str(self.stale_days)
        for key, value in override.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        return params

    def query(self, **override) -> str:
        """The query string, without '?' (empty for the defaults)."""
        return urlencode(self.params(**override))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
