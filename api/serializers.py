"""What the API reads and writes, field by field.

Output serializers read rows the views fetched with their joins (no query per
item); input serializers only parse and validate — every write goes through
``routing.services`` / ``boards.services`` in the views. Every text field
refuses NUL (DRF's CharField does) and every number has bounds, so bad input
is a 400 before the database sees it.
"""

from __future__ import annotations

from functools import cache

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from boards.forms import MAX_ID
from boards.models import Board, Column, Note, Technician, Ticket
from calendars.models import Calendar
from calendars.working import is_working, load_calendar, load_calendars, resumes_at
from routing.models import PRIORITY_LIMIT_FIELDS, Criterion, Move

SLUG_RE = r"^[-a-zA-Z0-9_]+$"


@cache
def _ticket_url_pattern() -> str:
    """The ticket URL with ``{}`` for the number: one reverse() per process, not one per list item."""
    sentinel = 918273645
    return reverse("api:ticket", args=[sentinel]).replace(str(sentinel), "{}")


def person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username}


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


# --- Reading the desk -------------------------------------------------------


class ColumnSerializer(serializers.ModelSerializer):
    board = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Column
        fields = ["id", "board", "name", "position", "category", "wip_limit"]


class BoardColumnSerializer(serializers.ModelSerializer):
    class Meta:
        model = Column
        fields = ["id", "name", "position", "category", "wip_limit"]


class WorkingSpanSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 is Monday … 6 is Sunday.")
    start = serializers.CharField(help_text="Local time in the calendar's zone, HH:MM.")
    end = serializers.CharField(help_text="Local time, HH:MM; 24:00 is the day's closing midnight.")


class AddedHolidaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField()


class CalendarSerializer(serializers.Serializer):
    time_zone = serializers.CharField(help_text="The IANA zone the hours are read in, e.g. Europe/London.")
    always_open = serializers.BooleanField(help_text="24/7: every minute counts; the hours and holidays are ignored.")
    hours = WorkingSpanSerializer(many=True, help_text="Working hours per weekday (several spans a day allowed).")
    country = serializers.CharField(help_text="Public holidays of this country (ISO code) are days off; empty: none.")
    region = serializers.CharField(help_text="A region's holidays as well (e.g. ENG for GB); empty: national only.")
    added_holidays = AddedHolidaySerializer(many=True, help_text="Days off a manager added, on top of the country's.")
    description = serializers.CharField(help_text="The calendar in words: “Mon–Fri 08:00–18:00 Europe/London, …”.")
    working_now = serializers.BooleanField(help_text="Whether the board's clocks run at the moment of the answer.")
    resumes_at = serializers.DateTimeField(
        allow_null=True, help_text="Outside working hours: when the clocks run again; null while they run."
    )


def calendar_info(calendar: Calendar | None, now) -> dict | None:
    """A board's calendar as the API shows it (CalendarSerializer), None for a board without one.

    When clocks run is ``calendars.working``'s answer (``is_working`` / ``resumes_at``), not a copy of it.
    """
    if calendar is None:
        return None
    spans = sorted(calendar.spans.all(), key=lambda span: (span.weekday, span.start))
    working = is_working(calendar, now)
    return {
        "time_zone": calendar.time_zone,
        "always_open": calendar.always_open,
        "hours": []
        if calendar.always_open
        else [
            {
                "weekday": span.weekday,
                "start": f"{span.start:%H:%M}",
                "end": "24:00" if span.end_minute == 24 * 60 else f"{span.end:%H:%M}",
            }
            for span in spans
        ],
        "country": calendar.country,
        "region": calendar.subdivision,
        "added_holidays": [{"date": h.date.isoformat(), "name": h.name} for h in calendar.holidays.all()],
        "description": calendar.describe(),
        "working_now": working,
        "resumes_at": None if working else _when(resumes_at(calendar, now)),
    }


class _BoardListSerializer(serializers.ListSerializer):
    """Boards with their calendars read in three queries for the whole list, and one "now" for all."""

    def to_representation(self, data):
        boards = list(data.all() if hasattr(data, "all") else data)
        self.context["calendars"] = load_calendars(boards)
        self.context.setdefault("now", timezone.now())
        return super().to_representation(boards)


class BoardSerializer(serializers.ModelSerializer):
    columns = BoardColumnSerializer(many=True, read_only=True)
    works = serializers.SerializerMethodField(help_text="Whether you work this board (may move and edit its tickets).")
    calendar = serializers.SerializerMethodField(
        help_text="The board's working hours: time criteria count active minutes only inside them (a ticket's "
        "`deadline_at` is already computed on them). null: no calendar, every minute counts."
    )

    class Meta:
        model = Board
        fields = ["id", "slug", "name", "purpose", "position", "colour", "works", "columns", "calendar"]
        list_serializer_class = _BoardListSerializer

    def get_works(self, board: Board) -> bool:
        return self.context["can_work"](board.pk)

    @extend_schema_field(CalendarSerializer(allow_null=True))
    def get_calendar(self, board: Board) -> dict | None:
        calendars = self.context.get("calendars")
        calendar = calendars.get(board.pk) if calendars is not None else load_calendar(board)
        return calendar_info(calendar, self.context.get("now") or timezone.now())


class PriorityLimitsSerializer(serializers.Serializer):
    p1 = serializers.IntegerField(allow_null=True)
    p2 = serializers.IntegerField(allow_null=True)
    p3 = serializers.IntegerField(allow_null=True)
    p4 = serializers.IntegerField(allow_null=True)


class CriterionSerializer(serializers.ModelSerializer):
    from_board = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    to_board = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    by_hand = serializers.BooleanField(source="offered_by_hand", read_only=True)
    time_limit_minutes = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Time trigger: the general limit in active minutes, for priorities without a limit of their own; "
        "null with limits for some priorities only (it then applies to those only).",
    )
    limits = serializers.SerializerMethodField(
        help_text='The limit in active minutes a ticket of each priority gets, `{"p1": 10, …, "p4": 30}` '
        "(its own, else the general one); null for a priority it does not apply to, and for every priority "
        "when not a time criterion. Active minutes count inside the working hours of the board the ticket "
        "is on (the board's `calendar`)."
    )
    limit_text = serializers.CharField(
        source="describe_limit",
        read_only=True,
        help_text="The limits in words: “30 min; P1 10 min” or “P1 10 min, P2 20 min only”; empty if none.",
    )

    class Meta:
        model = Criterion
        fields = [
            "id",
            "name",
            "description",
            "direction",
            "trigger",
            "from_board",
            "from_tier",
            "to_board",
            "to_tier",
            "to_column",
            "time_limit_minutes",
            *PRIORITY_LIMIT_FIELDS.values(),
            "limits",
            "limit_text",
            "condition",
            "active",
            "by_hand",
        ]
        extra_kwargs = {
            name: {"help_text": f"Time trigger: P{p}'s own limit in active minutes; null: the general limit holds."}
            for p, name in PRIORITY_LIMIT_FIELDS.items()
        }

    @extend_schema_field(PriorityLimitsSerializer)
    def get_limits(self, criterion: Criterion) -> dict:
        return {f"p{p}": criterion.limit_for(p) for p in PRIORITY_LIMIT_FIELDS}


class TechnicianSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    boards = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    skills = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Technician
        fields = ["id", "username", "name", "tier", "boards", "skills"]

    def get_name(self, technician: Technician) -> str:
        return technician.user.get_full_name() or technician.user.username


# --- Tickets ----------------------------------------------------------------


class TicketSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    board = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    column_name = serializers.CharField(source="column.name", read_only=True)
    client = serializers.SlugRelatedField(slug_field="name", read_only=True)
    assignee = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "url",
            "title",
            "priority",
            "source",
            "board",
            "column",
            "column_name",
            "tier",
            "version",
            "assignee",
            "client",
            "requester_name",
            "requester_email",
            "needs_onsite",
            "is_open",
            "created_at",
            "updated_at",
            "resolved_at",
            "deadline_at",
        ]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_assignee(self, ticket: Ticket) -> dict | None:
        return person(ticket.assignee)

    def get_url(self, ticket: Ticket) -> str:
        return _ticket_url_pattern().format(ticket.pk)


# The list's fast path: the same item as TicketSerializer, built from plain rows
# (``.values()``) rather than model instances, a fraction of the cost for a
# page (as the board's cards are; tests/api hold the two to the same output).
TICKET_ROW_FIELDS = (
    "id",
    "title",
    "priority",
    "source",
    "board__slug",
    "column_id",
    "column__name",
    "tier",
    "version",
    "assignee_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "client__name",
    "requester_name",
    "requester_email",
    "needs_onsite",
    "created_at",
    "updated_at",
    "resolved_at",
    "deadline_at",
)
_datetime = serializers.DateTimeField()


def _when(value) -> str | None:
    return None if value is None else _datetime.to_representation(value)


def ticket_row(row: dict) -> dict:
    """A ``Ticket.objects.values(*TICKET_ROW_FIELDS)`` row as TicketSerializer draws the ticket."""
    assignee = None
    if row["assignee_id"] is not None:
        full = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
        assignee = {
            "id": row["assignee_id"],
            "username": row["assignee__username"],
            "name": full or row["assignee__username"],
        }
    pk = row["id"]
    return {
        "id": pk,
        "number": f"#{pk}",
        "url": _ticket_url_pattern().format(pk),
        "title": row["title"],
        "priority": row["priority"],
        "source": row["source"],
        "board": row["board__slug"],
        "column": row["column_id"],
        "column_name": row["column__name"],
        "tier": row["tier"],
        "version": row["version"],
        "assignee": assignee,
        "client": row["client__name"],
        "requester_name": row["requester_name"],
        "requester_email": row["requester_email"],
        "needs_onsite": row["needs_onsite"],
        "is_open": row["resolved_at"] is None,
        "created_at": _when(row["created_at"]),
        "updated_at": _when(row["updated_at"]),
        "resolved_at": _when(row["resolved_at"]),
        "deadline_at": _when(row["deadline_at"]),
    }


class MoveSerializer(serializers.ModelSerializer):
    from_board = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    to_board = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    from_column_name = serializers.CharField(source="from_column.name", read_only=True, allow_null=True)
    to_column_name = serializers.CharField(source="to_column.name", read_only=True)
    criterion_name = serializers.CharField(source="criterion.name", read_only=True, allow_null=True)
    actor = serializers.SerializerMethodField(help_text="Who moved it; null for the scheduler.")

    class Meta:
        model = Move
        fields = [
            "id",
            "created_at",
            "direction",
            "criterion",
            "criterion_name",
            "from_board",
            "from_column",
            "from_column_name",
            "from_tier",
            "to_board",
            "to_column",
            "to_column_name",
            "to_tier",
            "actor",
            "note",
        ]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, move: Move) -> dict | None:
        return person(move.actor)


class TicketDetailSerializer(TicketSerializer):
    required_skills = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    moves = MoveSerializer(many=True, read_only=True, help_text="The ticket's move timeline, oldest first.")

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "description", "required_skills", "moves"]


class MoveResultSerializer(serializers.Serializer):
    move = MoveSerializer(allow_null=True)
    ticket = TicketSerializer()


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    author_name = serializers.CharField(
        read_only=True, help_text="Who wrote it, as the desk names them: the technician, else the requester."
    )
    from_requester = serializers.SerializerMethodField(help_text="Written by the requester (email or status page).")

    class Meta:
        model = Note
        fields = ["id", "author", "author_name", "from_requester", "body", "internal", "minutes_worked", "created_at"]

    def get_from_requester(self, note: Note) -> bool:
        return note.requester is not None

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_author(self, note: Note) -> dict | None:
        return person(note.author)


# --- Input ------------------------------------------------------------------


class TicketFilterSerializer(serializers.Serializer):
    board = serializers.RegexField(SLUG_RE, max_length=60, required=False, help_text="A board's slug.")
    column = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    assignee = serializers.CharField(
        max_length=150, required=False, help_text="A username, `me`, or `none` for unassigned tickets."
    )
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False)
    state = serializers.ChoiceField(choices=["open", "resolved", "all"], default="all", required=False)
    updated_since = serializers.DateTimeField(required=False, help_text="ISO 8601, e.g. 2026-11-29T09:00:00Z.")
    cursor = serializers.CharField(required=False, help_text="From a page's `next` or `previous` link.")


class TicketCreateSerializer(serializers.Serializer):
    board = serializers.RegexField(SLUG_RE, max_length=60, help_text="The slug of a board you work.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, default=Ticket.Priority.P3)
    client = serializers.CharField(max_length=120, required=False, allow_null=True, help_text="A client's name.")
    requester_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    requester_email = serializers.EmailField(required=False, allow_blank=True, default="")


class TicketUpdateSerializer(serializers.Serializer):
    assignee = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        help_text="A username of someone who works the ticket's board (or yourself); null to unassign.",
    )
    tier = serializers.IntegerField(min_value=1, max_value=32767, required=False, help_text="A tier change is a move.")
    needs_onsite = serializers.BooleanField(required=False)
    required_skills = serializers.ListField(
        child=serializers.CharField(max_length=60), max_length=100, required=False, help_text="Skill names."
    )

    def validate(self, data: dict) -> dict:
        if not data:
            raise serializers.ValidationError("Send at least one of assignee, tier, needs_onsite, required_skills.")
        return data


class MoveCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The ticket's version as you saw it; a stale one is a 409."
    )
    criterion = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="A criterion you may invoke by hand."
    )
    column = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="A column on the ticket's own board."
    )
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if ("criterion" in data) == ("column" in data):
            raise serializers.ValidationError("Send either a criterion or a column, not both and not neither.")
        return data


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    internal = serializers.BooleanField(default=True, help_text="Internal notes are never shown to the customer.")
    minutes_worked = serializers.IntegerField(min_value=0, max_value=24 * 60, default=0)
