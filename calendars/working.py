"""Working time: the one definition of when a board's clocks run.

Everything that counts active time — the deadline recompute, the sweep's
re-check, the card's countdown, the what-if replay — asks this module and
nothing else. Four questions, each taking a board's ``Calendar`` (or None):

- ``add_working_time(calendar, start, duration)`` / ``add_working_minutes(…, minutes)``:
  the moment ``duration`` of working time after ``start``;
- ``working_time_between(calendar, a, b)`` / ``working_seconds_between``:
  how much working time lies between two moments;
- ``is_working(calendar, at)`` and ``resumes_at(calendar, at)``, and
  ``pause_label(calendar, now)`` built on them: the card's
  "paused · outside hours, resumes Mon 08:00".

Aware datetimes in, aware UTC datetimes out. A ``None`` calendar (a board
without one) or a 24/7 calendar is plain wall time, so callers never need a
special case: ``add`` is ``start + duration``, ``between`` is ``b - a``.

Load calendars with ``load_calendar(board)`` (one query when the board has
none, three when it has one: the calendar, its spans, its added holidays) or
``load_calendars(boards)`` (three queries for any number of boards, for a
set-based sweep); ``calendars_of(boards)`` takes the
calendars that the boards' own read brought (``select_related("calendar")``).
A loaded calendar is read once into an immutable plan; edit the rows and
load it again to see the change.

How ``routing.services`` uses it (banked active time)
-----------------------------------------------------

``Ticket.active_time`` banks working time already spent on the board, and
``clock_started_at`` marks the running stretch. The clock still starts and
stops at the real moments (a ticket may arrive at 03:00); only the counting
is in working time::

    from calendars.working import add_working_time, load_calendar, working_time_between

    def _stop_clock(ticket, now, calendar):
        if ticket.clock_started_at is not None:
            ticket.active_time += working_time_between(calendar, ticket.clock_started_at, now)
            ticket.clock_started_at = None

    def _set_deadline(ticket, criteria, calendar):
        ...
        limit = timedelta(minutes=criterion.time_limit_minutes)
        ticket.deadline_at = add_working_time(calendar, ticket.clock_started_at, limit - ticket.active_time)

Which calendar: ``_stop_clock`` counts the stretch just ended, so it takes
the calendar of the board the ticket was on during it (in ``_apply``, the
*old* board; a move to another board then zeroes the bank anyway);
``_set_deadline`` takes the calendar of the board the ticket is on *now*
(after a move, the new board's). Load them with ``load_calendar(board_id)``
in the door (one to three queries), and with ``load_calendars(board_ids)``
once per sweep batch (the due tickets' boards plus the criteria's target
boards: three queries for the whole batch) and once per
``recompute_deadlines``. That recompute's per-position UPDATE with SQL
interval arithmetic is right only for wall time: for a board whose calendar
is not 24/7 it computes ``deadline_at`` per ticket in Python
(``routing.services.deadline_for``, i.e. ``add_working_time``) and writes a
few thousand rows per UPDATE, so the arithmetic keeps one home and SQL holds
no second copy of it. A calendar edited in admin
already calls ``recompute_deadlines`` (``calendars.admin``).

The sweep's query ``deadline_at <= now`` is unchanged: a deadline computed
in working time is still one instant, and the re-check under the lock calls
``_set_deadline`` with the same calendar. The card's countdown is
``working_time_between(calendar, now, deadline_at)``; while
``not is_working(calendar, now)`` it shows "paused · outside hours, resumes
{resumes_at(calendar, now).astimezone(calendar.zone):%a %H:%M}". The
what-if replay counts a stretch with ``working_time_between`` too.

``add_working_time`` raises ``NoWorkingTime`` only for a calendar with no
hours on any day; admin refuses to save one that is not 24/7, but a caller
that writes calendars by other means should treat it as "no deadline".

What a working day means
------------------------

1. A calendar has spans per weekday in local wall-clock time (start < end;
   an end of 00:00 is the day's closing midnight). Spans can't cross
   midnight: a night shift is Mon 22:00–00:00 plus Tue 00:00–06:00, and the
   two join into one stretch here.
2. A holiday (the country/region's public holidays from the ``holidays``
   package, or a date added by hand) removes that whole local day.
3. Each span of each working day becomes one interval of real (UTC) time by
   reading its start and end in the calendar's zone. So 08:00–18:00 is ten
   hours on every day, including both daylight-saving days.
4. Daylight saving, when a span's start or end falls on the hour that is
   skipped or repeated (Europe/London: 01:00–02:00 on the last Sundays of
   March and October):
   - a wall time that never happens (spring forward) means the moment the
     clocks jump: 01:30–03:00 on that day runs 02:00–03:00 BST, one hour; a
     span wholly inside the gap has no working time;
   - a wall time that happens twice (fall back) means its first occurrence,
     as RFC 5545 and Python's ``fold=0`` read it: 00:00–01:30 ends at the
     first 01:30 (1 h 30 min); 00:00–06:00 contains the repeated hour and is
     7 hours of work, the spring day's 00:00–06:00 is 5.

How it is fast
--------------

Per calendar (its plan, cached by content) and per local year, the working
intervals are built once as sorted integer microseconds with a running total
(holiday sets from the ``holidays`` package are cached per country, region
and year). "Between" is then two binary searches and whole-year totals,
"add" a binary search on the running total: a 3-working-day limit or a
months-long pause costs the same few microseconds. Nothing walks minute by
minute or day by day at query time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.db.models import prefetch_related_objects

from boards.models import Board

from .models import Calendar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000
_DAY = timedelta(days=1)
# A calendar that has found no working time in this many years has none at all.
_MAX_EMPTY_YEARS = 8


class NoWorkingTime(ValueError):
    """The calendar has no working time after this moment (no hours on any day)."""


# --- Public API -------------------------------------------------------------------


def add_working_time(calendar: Calendar | None, start: datetime, duration: timedelta) -> datetime:
    """The moment ``duration`` of working time after ``start``, in UTC.

    The earliest such moment: a limit used up exactly at 18:00 is due at
    18:00, not at the next morning's 08:00. Starting outside working hours,
    counting begins when work resumes. A zero or negative duration (a clock
    already past its limit) returns ``start`` on a calendar, and
    ``start + duration`` in wall time, as before calendars.
    """
    plan = _plan(calendar)
    if plan is None:
        # In UTC: Python adds to a local datetime on its wall clock, across DST too.
        return start.astimezone(UTC) + duration
    if duration <= timedelta(0):
        return start.astimezone(UTC)
    return _from_us(plan.add(_to_us(start), _us(duration)))


def add_working_minutes(calendar: Calendar | None, start: datetime, minutes: float) -> datetime:
    """``add_working_time`` in minutes: a Friday 17:50 start plus 30 is Monday 08:20 on Mon–Fri 08:00–18:00."""
    return add_working_time(calendar, start, timedelta(minutes=minutes))


def working_time_between(calendar: Calendar | None, a: datetime, b: datetime) -> timedelta:
    """Working time from ``a`` to ``b`` (zero if ``b`` is not after ``a``), exact to the microsecond."""
    plan = _plan(calendar)
    if plan is None:
        # In UTC: two datetimes of one zone subtract on their wall clocks, ignoring DST.
        return max(b.astimezone(UTC) - a.astimezone(UTC), timedelta(0))
    return timedelta(microseconds=plan.between(_to_us(a), _to_us(b)))


def working_seconds_between(calendar: Calendar | None, a: datetime, b: datetime) -> float:
    return working_time_between(calendar, a, b).total_seconds()


def is_working(calendar: Calendar | None, at: datetime) -> bool:
    """Whether clocks run at ``at``: inside a span of a working day (spans are start-inclusive)."""
    plan = _plan(calendar)
    return plan is None or plan.is_working(_to_us(at))


def resumes_at(calendar: Calendar | None, at: datetime) -> datetime | None:
    """When clocks next run at or after ``at``, in UTC: ``at`` itself while working.

    None only for a calendar with no working time ahead at all.
    """
    plan = _plan(calendar)
    if plan is None:
        return at.astimezone(UTC)
    found = plan.resumes(_to_us(at))
    return None if found is None else _from_us(found)


def pause_label(calendar: Calendar | None, now: datetime) -> str | None:
    """The card's words while the board's clocks stand still, None while they run.

    "paused · outside hours, resumes Mon 08:00", in the calendar's own zone;
    a resumption a week or more away (a long closure) names the date too.
    """
    if is_working(calendar, now):
        return None
    at = resumes_at(calendar, now)
    if at is None:
        return "paused · no working hours"
    local = at.astimezone(calendar.zone)
    when = f"{local:%a %H:%M}" if at - now < timedelta(days=6) else f"{local:%a %d %b %H:%M}"
    return f"paused · outside hours, resumes {when}"


def load_calendar(board) -> Calendar | None:
    """A board's (or board id's) calendar with its spans and added holidays, or None."""
    board_id = getattr(board, "pk", board)
    return Calendar.objects.filter(board_id=board_id).prefetch_related("spans", "holidays").first()


def load_calendars(boards: Iterable) -> dict[int, Calendar | None]:
    """Calendars for many boards (or ids) in three queries, read now: board id → calendar or None."""
    ids = {getattr(board, "pk", board) for board in boards}
    found = {c.board_id: c for c in Calendar.objects.filter(board_id__in=ids).prefetch_related("spans", "holidays")}
    return {board_id: found.get(board_id) for board_id in ids}


def calendars_of(boards: Iterable[Board]) -> dict[int, Calendar | None]:
    """``load_calendars`` for Boards whose own read brought their calendar (``select_related("calendar")``).

    For counting working time: a request that has just read its boards that
    way (the move's lock, the board pages) asks nothing more for a 24/7
    calendar or none (whose hours and holidays the count never reads), and
    only the spans and holidays for one with hours. A Board read without it
    is loaded.
    """
    boards = list(boards)
    calendars: dict[int, Calendar | None] = {}
    for board in boards:
        if Board.calendar.is_cached(board):  # type: ignore[attr-defined]
            try:
                calendars[board.pk] = board.calendar  # type: ignore[attr-defined]
            except Calendar.DoesNotExist:
                calendars[board.pk] = None
    with_hours = [c for c in calendars.values() if c is not None and not c.always_open]
    prefetch_related_objects(with_hours, "spans", "holidays")
    rest = [board for board in boards if board.pk not in calendars]
    if rest:
        calendars.update(load_calendars(rest))
    return calendars


# --- Plans: a calendar's rows read once into integer intervals -------------------------


def _plan(calendar: Calendar | None) -> _Plan | None:
    """The calendar's immutable plan, None for wall time (no calendar, or 24/7)."""
    if calendar is None or calendar.always_open:
        return None
    cached = getattr(calendar, "_working_plan", None)
    if cached is None:
        week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for span in calendar.spans.all():
            week[span.weekday].append((span.start_minute, span.end_minute))
        cached = _plan_for(
            calendar.time_zone,
            tuple(_merge(spans) for spans in week),
            calendar.country,
            calendar.subdivision,
            frozenset(h.date for h in calendar.holidays.all()),
        )
        calendar._working_plan = cached
    return cached


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """One day's spans in minutes, sorted, with touching or overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return tuple(merged)


@lru_cache(maxsize=256)
def _plan_for(
    time_zone: str,
    week: tuple[tuple[tuple[int, int], ...], ...],
    country: str,
    subdivision: str,
    added: frozenset[date],
) -> _Plan:
    # Keyed by content, so every load of an unchanged calendar shares one plan
    # and its built years; an edited calendar is a new key.
    return _Plan(ZoneInfo(time_zone), week, country, subdivision, added)


@lru_cache(maxsize=1024)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """A country's (and region's) public holidays in one year, observed days included."""
    if not country:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


@dataclass
class _Year:
    """One local year's working intervals: sorted, disjoint, in UTC microseconds."""

    begin: int  # the year's first local midnight
    end: int  # the next year's first local midnight
    starts: list[int]
    ends: list[int]
    before: list[int]  # working time in this year before interval k starts
    upto: list[int]  # … and by the time it ends

    @property
    def total(self) -> int:
        return self.upto[-1] if self.upto else 0

    def worked_before(self, u: int) -> int:
        k = bisect.bisect_right(self.starts, u) - 1
        if k < 0:
            return 0
        return self.before[k] + min(u, self.ends[k]) - self.starts[k]

    def reach(self, worked: int) -> int:
        """The earliest moment at which ``worked`` (0 < worked <= total) has been worked this year."""
        k = bisect.bisect_left(self.upto, worked)
        return self.starts[k] + worked - self.before[k]


@dataclass
class _Plan:
    tz: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]  # per weekday: (start, end) minutes after midnight
    country: str
    subdivision: str
    added: frozenset[date]
    years: dict[int, _Year] = field(default_factory=dict, repr=False)

    @property
    def works_some_day(self) -> bool:
        return any(self.week)

    def year(self, y: int) -> _Year:
        built = self.years.get(y)
        if built is None:
            built = self.years[y] = self._build(y)
        return built

    def year_of(self, u: int) -> _Year:
        y = _from_us(u).astimezone(self.tz).year
        found = self.year(y)
        # A zone whose clocks go back across New Year's midnight can read an
        # instant of the new year as the old one; the boundaries decide.
        if u < found.begin:
            return self.year(y - 1)
        if u >= found.end:
            return self.year(y + 1)
        return found

    def _build(self, y: int) -> _Year:
        off = public_holidays(self.country, self.subdivision, y) | self.added
        starts: list[int] = []
        ends: list[int] = []
        day = date(y, 1, 1)
        while day.year == y:
            if day not in off:
                for start, end in self.week[day.weekday()]:
                    s = self._local(day, start)
                    e = self._local(day, end)
                    if e <= s:
                        continue  # a span wholly inside a skipped hour
                    if ends and s <= ends[-1]:
                        ends[-1] = max(ends[-1], e)  # e.g. 22:00–24:00 then 00:00–06:00
                    else:
                        starts.append(s)
                        ends.append(e)
            day += _DAY
        before, upto, total = [], [], 0
        for s, e in zip(starts, ends, strict=True):
            before.append(total)
            total += e - s
            upto.append(total)
        return _Year(self._local(date(y, 1, 1), 0), self._local(date(y + 1, 1, 1), 0), starts, ends, before, upto)

    def _local(self, day: date, minute: int) -> int:
        """A local wall time (minutes after ``day``'s midnight, 1440 = the next) as UTC microseconds.

        A time that happens twice is its first occurrence (``fold=0``); one
        that never happens is the moment the clocks jump (step 4 above).
        """
        if minute >= 24 * 60:
            day, minute = day + _DAY, minute - 24 * 60
        wall = datetime.combine(day, time(minute // 60, minute % 60))
        u = _to_us(wall.replace(tzinfo=self.tz))
        if _from_us(u).astimezone(self.tz).replace(tzinfo=None) == wall:
            return u
        # In the gap: fold=1 reads it with the offset after the jump (an
        # instant before the jump), fold=0 with the one before (after it).
        # The jump lies between; find it to the second.
        lo = _to_us(wall.replace(tzinfo=self.tz, fold=1)) // _SECOND
        hi = u // _SECOND
        after = _from_us(u).astimezone(self.tz).utcoffset()
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _from_us(mid * _SECOND).astimezone(self.tz).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return hi * _SECOND

    # The four questions, in microseconds since the epoch.

    def between(self, a: int, b: int) -> int:
        if b <= a:
            return 0
        ya, yb = self.year_of(a), self.year_of(b)
        if ya is yb:
            return yb.worked_before(b) - ya.worked_before(a)
        total = ya.total - ya.worked_before(a) + yb.worked_before(b)
        y = _from_us(ya.end).astimezone(self.tz).year
        year = self.year(y)
        while year is not yb:
            total += year.total
            year = self.year(y := y + 1)
        return total

    def add(self, start: int, amount: int) -> int:
        if not self.works_some_day:
            raise NoWorkingTime("This calendar has no working hours on any day.")
        year = self.year_of(start)
        y = _from_us(year.begin).astimezone(self.tz).year
        need = year.worked_before(start) + amount
        empty = 0
        while need > year.total:
            need -= year.total
            empty = empty + 1 if year.total == 0 else 0
            if empty > _MAX_EMPTY_YEARS:
                raise NoWorkingTime("This calendar has no working time ahead (every day is a holiday).")
            y += 1
            year = self.year(y)
        return year.reach(need)

    def is_working(self, u: int) -> bool:
        year = self.year_of(u)
        k = bisect.bisect_right(year.starts, u) - 1
        return k >= 0 and u < year.ends[k]

    def resumes(self, u: int) -> int | None:
        if not self.works_some_day:
            return None
        year = self.year_of(u)
        k = bisect.bisect_right(year.starts, u) - 1
        if k >= 0 and u < year.ends[k]:
            return u
        y = _from_us(year.begin).astimezone(self.tz).year
        for _ in range(_MAX_EMPTY_YEARS + 1):
            k = bisect.bisect_right(year.starts, u)
            if k < len(year.starts):
                return year.starts[k]
            y += 1
            year = self.year(y)
        return None


# --- Microseconds since the epoch: exact integer arithmetic ------------------------------


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _SECOND + delta.microseconds


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"Working time needs an aware datetime, got {moment!r}.")
    return _us(moment - _EPOCH)


def _from_us(u: int) -> datetime:
    return _EPOCH + timedelta(microseconds=u)
