"""A board's working-hours calendar: its time zone, weekly hours and holidays.

What these rows *mean* for a clock lives in ``calendars.working`` alone; the
models hold fields, constraints and a plain-words summary.

A board without a calendar, or with one marked 24/7, is always working: its
clocks count plain wall time, as they did before calendars existed.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import holidays
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from boards.models import Board

# A span's end of 00:00 means midnight at the end of its day (a span can't
# cross midnight; a night shift is two spans, e.g. Mon 22:00–00:00 and
# Tue 00:00–06:00, which the working-time arithmetic joins seamlessly).
MIDNIGHT = time(0)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(name: str) -> None:
    if name not in _time_zones():
        raise ValidationError(
            "“%(name)s” is not a time zone name. Use an IANA name such as Europe/London or America/New_York.",
            params={"name": name},
            code="invalid_time_zone",
        )


@lru_cache(maxsize=1)
def supported_countries() -> dict[str, list[str]]:
    """ISO country code → the subdivision codes the ``holidays`` package knows."""
    return holidays.list_supported_countries()


def validate_country(code: str) -> None:
    if code and code not in supported_countries():
        raise ValidationError(
            "“%(code)s” is not a country the holidays calendar knows. Use a two-letter ISO code such as GB, US or DE.",
            params={"code": code},
            code="invalid_country",
        )


class Calendar(models.Model):
    board = models.OneToOneField(Board, on_delete=models.CASCADE, related_name="calendar")
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="The IANA time zone the working hours are read in, e.g. Europe/London.",
    )
    always_open = models.BooleanField(
        "24/7",
        default=False,
        help_text="Always working: clocks count plain wall time; the hours and holidays below are ignored.",
    )
    country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_country],
        help_text="Public holidays of this country are days off (ISO code, e.g. GB, US, DE). Empty: none.",
    )
    subdivision = models.CharField(
        "region",
        max_length=10,
        blank=True,
        help_text="A region's holidays as well, e.g. ENG (England) for GB, NY for US. Empty: the national ones.",
    )

    class Meta:
        ordering = ["board__position", "board__name"]

    def __str__(self) -> str:
        return f"{self.board.name}: {self.describe()}"

    def clean(self) -> None:
        if self.subdivision and not self.country:
            raise ValidationError({"subdivision": "A region needs its country."})
        if self.subdivision and self.country in supported_countries():
            regions = supported_countries()[self.country]
            if self.subdivision not in regions:
                known = ", ".join(regions) if regions else "none"
                raise ValidationError(
                    {"subdivision": f"{self.country} has no region “{self.subdivision}”. Known regions: {known}."}
                )

    @property
    def zone(self) -> ZoneInfo:
        """The zone to show times in, e.g. the card's "resumes Mon 08:00"."""
        return ZoneInfo(self.time_zone)

    @property
    def holiday_source(self) -> str:
        if not self.country:
            return ""
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def describe(self) -> str:
        """The calendar in plain words: "Mon–Fri 08:00–18:00 Europe/London, holidays: GB-ENG + 2 added"."""
        if self.always_open:
            return "24/7 (every hour counts)"
        if self.pk is None:
            return f"no working hours yet, {self.time_zone}"
        by_day: list[tuple[tuple[time, time], ...]] = [() for _ in WEEKDAYS]
        for span in sorted(self.spans.all(), key=lambda s: (s.weekday, s.start)):
            by_day[span.weekday] += ((span.start, span.end),)
        # Runs of consecutive weekdays with the same hours: "Mon–Fri 08:00–18:00".
        runs: list[tuple[int, int, tuple]] = []
        for day, spans in enumerate(by_day):
            if not spans:
                continue
            if runs and runs[-1][1] == day - 1 and runs[-1][2] == spans:
                runs[-1] = (runs[-1][0], day, spans)
            else:
                runs.append((day, day, spans))
        hours = "; ".join(
            f"{WEEKDAYS[first]}{'–' + WEEKDAYS[last] if last > first else ''} "
            + ", ".join(f"{_hhmm(start)}–{_hhmm(end, end_of_day=True)}" for start, end in spans)
            for first, last, spans in runs
        )
        added = len(self.holidays.all())
        sources = [self.holiday_source] if self.country else []
        if added:
            sources.append(f"{added} added")
        return f"{hours or 'no working hours'} {self.time_zone}, holidays: {' + '.join(sources) or 'none'}"


def _hhmm(value: time, *, end_of_day: bool = False) -> str:
    if end_of_day and value == MIDNIGHT:
        return "24:00"
    return value.strftime("%H:%M")


class WorkingSpan(models.Model):
    """One stretch of working hours on one weekday, in the calendar's local time."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="spans")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = "working hours"
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")) | Q(end=MIDNIGHT),
                name="span_ends_after_it_starts",
                violation_error_message="A span must end after it starts (00:00 as the end means midnight).",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="span_weekday_0_to_6"),
        ]

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {_hhmm(self.start)}–{_hhmm(self.end, end_of_day=True)}"

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Minutes after the day's midnight; an end of 00:00 is 1440, the next midnight."""
        return 24 * 60 if self.end == MIDNIGHT else self.end.hour * 60 + self.end.minute

    def clean(self) -> None:
        if self.start is None or self.end is None:
            return
        if self.start.second or self.start.microsecond or self.end.second or self.end.microsecond:
            raise ValidationError("Working hours are whole minutes, e.g. 08:00 or 17:30.")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValidationError(
                f"{_hhmm(self.start)}–{_hhmm(self.end)} ends before it starts. A span can't cross midnight: "
                f"for a night shift enter two spans, e.g. {_hhmm(self.start)}–00:00 on this day and "
                f"00:00–{_hhmm(self.end)} on the next."
            )


def overlapping_spans(spans: list[WorkingSpan]) -> list[tuple[WorkingSpan, WorkingSpan]]:
    """Pairs of spans on the same weekday that overlap (touching end to start is fine)."""
    clashes = []
    by_day: dict[int, list[WorkingSpan]] = {}
    for span in spans:
        by_day.setdefault(span.weekday, []).append(span)
    for day_spans in by_day.values():
        day_spans.sort(key=lambda s: (s.start_minute, s.end_minute))
        for earlier, later in pairwise(day_spans):
            if later.start_minute < earlier.end_minute:
                clashes.append((earlier, later))
    return clashes


class Holiday(models.Model):
    """A day off a manager adds by hand (a company day, a site closure), on top of the country's."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = "added holiday"
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="holiday_date_unique_per_calendar",
                violation_error_message="This calendar already has a holiday on that date.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%a %d %b %Y}: {self.name}"
