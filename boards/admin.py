"""Admin for the desk's structure and people, and a careful window on tickets.

Managers live here: boards with their columns, technicians with tiers, boards
and skills, clients, and tickets. A ticket's board, column and tier are
read-only in admin: a new ticket is opened through ``routing.services.open_ticket``
and the only moves on offer are actions that go through ``move_ticket``.

Saving a board, a column or a person's technician profile changes the map's
soundness (a column to receive tickets, who works which board and tier), so
those saves end with the map's lint (``flow.lint``), as criteria saves do.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db import router, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from calendars.admin import BoardCalendarInline
from flow import lint
from routing import services
from routing.models import Move

from .forms import ascii_int
from .models import TECHNICIANS_GROUP, Board, Client, Column, Note, Skill, Technician, Ticket
from .roles import ROLES, assign_role

# --- Boards and columns --------------------------------------------------------


class ColumnForm(forms.ModelForm):
    class Meta:
        model = Column
        fields = ["name", "position", "category", "wip_limit", "resumes_on_reply"]

    def clean(self):
        cleaned = super().clean()
        # A column's category decides whether its tickets' clocks run. Changing
        # it under open tickets would change their clocks without a Move, so
        # the tickets move out first (through the boards, i.e. the one door).
        if self.instance.pk and "category" in self.changed_data:
            waiting = self.instance.tickets.open().count()
            if waiting:
                self.add_error(
                    "category",
                    f"{waiting} open ticket(s) sit in this column and their clocks depend on its category. "
                    "Move them to another column first, or add a new column instead.",
                )
        return cleaned


class ColumnInline(admin.TabularInline):
    model = Column
    form = ColumnForm
    fields = ["position", "name", "category", "wip_limit", "resumes_on_reply"]
    ordering = ["position", "pk"]
    extra = 0
    show_change_link = True


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "swatch", "column_count", "open_tickets"]
    list_display_links = ["name"]
    list_editable = ["position"]
    search_fields = ["name", "slug", "purpose"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "purpose", "position", "colour"]
    inlines = [ColumnInline, BoardCalendarInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _columns=Count("columns", distinct=True),
                _open=Count("tickets", filter=Q(tickets__resolved_at__isnull=True), distinct=True),
            )
        )

    @admin.display(description="Colour")
    def swatch(self, obj: Board) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;border-radius:2px;'
            'vertical-align:middle;background:{}"></span> {}',
            obj.colour,
            obj.colour,
        )

    @admin.display(description="Columns", ordering="_columns")
    def column_count(self, obj: Board) -> int:
        return obj._columns

    @admin.display(description="Open tickets", ordering="_open")
    def open_tickets(self, obj: Board) -> int:
        return obj._open

    def delete_model(self, request: HttpRequest, obj: Board) -> None:
        # Deleting a board deletes the criteria that lead to or from it.
        with transaction.atomic(using=router.db_for_write(Board)):
            super().delete_model(request, obj)
            services.recompute_deadlines()
        lint.admin_messages(request, about=())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(Board)):
            super().delete_queryset(request, queryset)
            services.recompute_deadlines()
        lint.admin_messages(request, about=())

    # After Django's "saved" message (columns included): what the board still lacks.
    def response_add(self, request: HttpRequest, obj: Board, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        lint.admin_messages(request, about={f"board:{obj.pk}"})
        return response

    def response_change(self, request: HttpRequest, obj: Board):
        response = super().response_change(request, obj)
        lint.admin_messages(request, about={f"board:{obj.pk}"})
        return response


@admin.register(Column)
class ColumnAdmin(admin.ModelAdmin):
    form = ColumnForm
    list_display = ["name", "board", "position", "category", "wip_limit", "resumes_on_reply", "open_tickets"]
    list_filter = ["board", "category"]
    list_select_related = ["board"]
    search_fields = ["name", "board__name"]
    ordering = ["board__position", "position", "pk"]

    fields = ["board", "name", "position", "category", "wip_limit", "resumes_on_reply"]

    def get_readonly_fields(self, request: HttpRequest, obj: Column | None = None) -> list[str]:
        # Its tickets' (column, board) pairs are held together by the database;
        # a column never changes board.
        return ["board"] if obj else []

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request).annotate(_open=Count("tickets", filter=Q(tickets__resolved_at__isnull=True)))
        )

    @admin.display(description="Open tickets", ordering="_open")
    def open_tickets(self, obj: Column) -> int:
        return obj._open

    # A column decides where arriving tickets land (the board's first 'new' one).
    def response_add(self, request: HttpRequest, obj: Column, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        lint.admin_messages(request, about={f"board:{obj.board_id}"})
        return response

    def response_change(self, request: HttpRequest, obj: Column):
        response = super().response_change(request, obj)
        lint.admin_messages(request, about={f"board:{obj.board_id}"})
        return response


# --- People --------------------------------------------------------------------


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "technician_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_technicians=Count("technicians"))

    @admin.display(description="Technicians", ordering="_technicians")
    def technician_count(self, obj: Skill) -> int:
        return obj._technicians


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email", "phone", "open_tickets"]
    search_fields = ["name", "contact_email", "phone"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request).annotate(_open=Count("tickets", filter=Q(tickets__resolved_at__isnull=True)))
        )

    @admin.display(description="Open tickets", ordering="_open")
    def open_tickets(self, obj: Client) -> int:
        return obj._open


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ["__str__", "username", "tier", "board_list", "skill_list", "is_active"]
    list_filter = ["tier", "boards", "skills", "user__is_active"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["boards", "skills"]
    fields = ["user", "tier", "boards", "skills"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user").prefetch_related("boards", "skills")

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: Technician) -> str:
        return obj.user.username

    @admin.display(description="Boards")
    def board_list(self, obj: Technician) -> str:
        return ", ".join(b.name for b in obj.boards.all())

    @admin.display(description="Skills")
    def skill_list(self, obj: Technician) -> str:
        return ", ".join(s.name for s in obj.skills.all())

    @admin.display(description="Active", boolean=True, ordering="user__is_active")
    def is_active(self, obj: Technician) -> bool:
        return obj.user.is_active

    # Tier, boards and skills decide which boards, tiers and skills are covered.
    def response_add(self, request: HttpRequest, obj: Technician, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        lint.admin_messages(request, about={"staff"})
        return response

    def response_change(self, request: HttpRequest, obj: Technician):
        response = super().response_change(request, obj)
        lint.admin_messages(request, about={"staff"})
        return response


class TechnicianInline(admin.StackedInline):
    model = Technician
    fields = ["tier", "boards", "skills"]
    filter_horizontal = ["boards", "skills"]
    can_delete = False
    max_num = 1
    verbose_name_plural = "Technician profile"


admin.site.unregister(User)


@admin.register(User)
class SwitchbackUserAdmin(UserAdmin):
    """Django's user admin with the technician profile inline.

    Managers add and edit people, but only a superuser may grant superuser
    status or single permissions, or edit a superuser's account: otherwise a
    manager could promote themselves past the Managers group.
    """

    inlines = [TechnicianInline]
    list_display = ["username", "first_name", "last_name", "email", "tier", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "groups", "technician__tier"]
    list_select_related = ["technician"]

    @admin.display(description="Tier", ordering="technician__tier")
    def tier(self, obj: User) -> int | None:
        technician = getattr(obj, "technician", None)
        return technician.tier if technician else None

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions", "last_login", "date_joined"]
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    # A person's profile, or switching their account off, changes who works where.
    def response_add(self, request: HttpRequest, obj: User, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if Technician.objects.filter(user=obj).exists():
            lint.admin_messages(request, about={"staff"})
        return response

    def response_change(self, request: HttpRequest, obj: User):
        response = super().response_change(request, obj)
        if Technician.objects.filter(user=obj).exists():
            lint.admin_messages(request, about={"staff"})
        return response

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        # Someone given a technician profile here works tickets: give them the
        # Technicians role unless they already hold one.
        if Technician.objects.filter(user=user).exists() and not user.groups.filter(name__in=ROLES).exists():
            assign_role(user, TECHNICIANS_GROUP)


# --- Tickets -----------------------------------------------------------------


class NoteInline(admin.TabularInline):
    model = Note
    fields = ["created_at", "author", "body", "internal", "minutes_worked"]
    readonly_fields = ["created_at", "author"]
    ordering = ["created_at", "pk"]
    extra = 1


class MoveTimelineInline(admin.TabularInline):
    """The ticket's history, oldest first. Moves are never added or edited here."""

    model = Move
    fk_name = "ticket"
    verbose_name = "move"
    verbose_name_plural = "Timeline"
    fields = ["created_at", "where_from", "where_to", "direction", "criterion", "who", "note"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("from_board", "from_column", "to_board", "to_column", "criterion", "actor")
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="From")
    def where_from(self, move: Move) -> str:
        if move.from_board_id is None:
            return "—"
        return f"{move.from_board.name} · {move.from_column.name} · tier {move.from_tier}"

    @admin.display(description="To")
    def where_to(self, move: Move) -> str:
        return f"{move.to_board.name} · {move.to_column.name} · tier {move.to_tier}"

    @admin.display(description="By")
    def who(self, move: Move) -> str:
        return move.actor_name


class ColumnFilter(admin.SimpleListFilter):
    """Columns named with their board, narrowed to the board filtered on."""

    title = "column"
    parameter_name = "column"

    def lookups(self, request, model_admin):
        columns = Column.objects.select_related("board")
        board = request.GET.get("board__id__exact")
        if board and board.isdigit():
            columns = columns.filter(board_id=board)
        return [(str(c.pk), str(c)) for c in columns]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(column_id=self.value())
        return queryset


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("overdue", "Overdue"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.open()
        if self.value() == "overdue":
            return queryset.overdue(timezone.now())
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


TICKET_DETAIL_FIELDS = [
    "title",
    "description",
    "priority",
    "source",
    "client",
    "requester_name",
    "requester_email",
    "assignee",
]


class TicketAddForm(forms.ModelForm):
    """Where a new ticket opens. The column may be left empty: the board's entry column."""

    class Meta:
        model = Ticket
        # The admin passes its own field list; this is the fallback.
        fields = [*TICKET_DETAIL_FIELDS, "needs_onsite", "required_skills", "board", "column", "tier"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "column" in self.fields:
            self.fields["column"].required = False
            self.fields["column"].help_text = "Empty: the board's first 'new' column."
            self.fields["column"].queryset = Column.objects.select_related("board")

    def clean(self):
        cleaned = super().clean()
        board = cleaned.get("board")
        if board is not None and cleaned.get("column") is None and board.entry_column() is None:
            self.add_error("board", f"The {board.name} board has no columns yet; add one first.")
        return cleaned


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "where", "prio", "client", "assignee", "time_left"]
    list_display_links = ["number", "title"]
    list_filter = [
        OpenFilter,
        "board",
        ColumnFilter,
        "priority",
        "tier",
        "assignee",
        "source",
        "needs_onsite",
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["board", "column", "client", "assignee"]
    # Shown for the search box; the search itself is get_search_results below.
    search_fields = ["title", "description", "requester_name", "requester_email", "client__name"]
    search_help_text = "Title, description, requester or client. A number like 42 finds ticket #42."
    autocomplete_fields = ["client", "assignee"]
    filter_horizontal = ["required_skills"]
    # At 100k tickets: newest first straight off the primary key, no full count
    # beside the filtered one, and no date drill-down (it reads every row's date
    # to draw its links; the "created" filter above asks for ranges instead).
    ordering = ["-pk"]
    show_full_result_count = False
    inlines = [NoteInline, MoveTimelineInline]
    actions = ["resolve_tickets", "reopen_tickets"]

    # What a person may edit; everything else on a ticket belongs to routing.services.
    DETAIL_FIELDS = TICKET_DETAIL_FIELDS
    FACT_FIELDS = ["needs_onsite", "required_skills"]
    LOCATION_FIELDS = ["board", "column", "tier"]
    CLOCK_FIELDS = [
        "version",
        "created_at",
        "entered_board_at",
        "resolved_at",
        "active_time",
        "clock_started_at",
        "deadline_at",
        "deadline_criterion",
        "updated_at",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Ticket | None = None):
        facts_help = "Changing these may fire a condition criterion (e.g. Needs onsite visit)."
        if obj is None:
            return [
                (None, {"fields": self.DETAIL_FIELDS}),
                ("Facts", {"fields": self.FACT_FIELDS, "description": facts_help}),
                (
                    "Where it opens",
                    {
                        "fields": self.LOCATION_FIELDS,
                        "description": "After this, only moves change board, column or tier.",
                    },
                ),
            ]
        return [
            (None, {"fields": self.DETAIL_FIELDS}),
            ("Facts", {"fields": self.FACT_FIELDS, "description": facts_help}),
            (
                "Where it is",
                {
                    "fields": self.LOCATION_FIELDS,
                    "description": "Read-only: move the ticket on its board, or use the Resolve / Reopen actions.",
                },
            ),
            ("Clock", {"fields": self.CLOCK_FIELDS, "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        if obj is None:
            return []
        return self.LOCATION_FIELDS + self.CLOCK_FIELDS

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TicketAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Ticket | None):
        # A ticket being added has no notes or history yet.
        return self.inlines if obj is not None else []

    def get_search_results(self, request, queryset, search_term):
        """Every word in the title, description, requester or client; "#42" or "42" also finds ticket #42.

        Written out rather than left to ``search_fields`` so PostgreSQL can serve
        it from the trigram indexes (migration boards 0009): each text match is
        ``UPPER(column) LIKE``, which those indexes answer, and the client match
        becomes a list of client ids, not an OR across a join (which would make
        the planner read the whole table).
        """
        words = search_term.split()
        if not words:
            return queryset, False
        found = queryset
        for word in words:
            clients = list(Client.objects.filter(name__icontains=word).values_list("pk", flat=True)[:500])
            found = found.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(requester_name__icontains=word)
                | Q(requester_email__icontains=word)
                | Q(client_id__in=clients)
            )
        number = ascii_int(search_term.strip().lstrip("#"))
        if number is not None:
            # From the list-filtered queryset, so "#42" never escapes the filters.
            found |= queryset.filter(pk=number)
        return found, False

    @admin.display(description="Number", ordering="pk")
    def number(self, obj: Ticket) -> str:
        return obj.number

    @admin.display(description="Where", ordering="board__position")
    def where(self, obj: Ticket) -> str:
        return f"{obj.board.name} · {obj.column.name} · tier {obj.tier}"

    @admin.display(description="Prio", ordering="priority")
    def prio(self, obj: Ticket) -> str:
        return f"P{obj.priority}"

    @admin.display(description="Deadline", ordering="deadline_at")
    def time_left(self, obj: Ticket) -> str:
        if obj.resolved_at is not None:
            return f"resolved {timesince(obj.resolved_at)} ago"
        if obj.deadline_at is None:
            return "—"
        if obj.deadline_at <= timezone.now():
            return format_html('<strong style="color:#ba2121">{} overdue</strong>', timesince(obj.deadline_at))
        return f"in {timeuntil(obj.deadline_at)}"

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        # A ticket's timeline is the desk's record; resolve a ticket instead.
        return False

    def save_model(self, request: HttpRequest, obj: Ticket, form, change: bool) -> None:
        if not change:
            services.open_ticket(obj, actor=request.user)
            return
        # Write only what the form changed, so a move made while the form was
        # open is never overwritten by this copy of board, column or tier.
        editable = {f.name for f in Ticket._meta.concrete_fields} - set(self.LOCATION_FIELDS + self.CLOCK_FIELDS)
        fields = [name for name in form.changed_data if name in editable]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])
        if "priority" in fields and obj.is_open:
            # A time criterion may have a limit per priority: the clock's deadline follows.
            services.refresh_deadline(obj)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        facts = [name for name in self.FACT_FIELDS if name in form.changed_data]
        # On add, open_ticket already fired conditions on needs_onsite; skills
        # are many-to-many and only exist now.
        if (change and facts) or (not change and "required_skills" in facts):
            try:
                move = services.facts_changed(form.instance, actor=request.user)
            except services.MoveError as exc:
                messages.warning(request, str(exc))
            else:
                if move is not None:
                    messages.info(
                        request,
                        f"{form.instance.number} moved to {move.to_board.name} by “{move.criterion}”.",
                    )

    def save_formset(self, request, form, formset, change):
        if formset.model is Note:
            for note in formset.save(commit=False):
                if note.author_id is None:
                    note.author = request.user
                note.save()
            for note in formset.deleted_objects:
                note.delete()
            formset.save_m2m()
            return
        super().save_formset(request, form, formset, change)

    def _move_each(self, request: HttpRequest, queryset: QuerySet, where, verb: str, note: str) -> None:
        moved, skipped = 0, []
        for ticket in queryset.select_related("board", "column"):
            column = where(ticket)
            if column is None:
                skipped.append(f"{ticket.number}: the {ticket.board.name} board has no such column")
                continue
            try:
                if services.move_ticket(ticket, actor=request.user, expected_version=None, to_column=column, note=note):
                    moved += 1
            except services.MoveError as exc:
                skipped.append(f"{ticket.number}: {exc}")
        if moved:
            messages.success(request, f"{verb} {moved} ticket(s).")
        for reason in skipped:
            messages.warning(request, reason)
        if not moved and not skipped:
            messages.info(request, "Nothing to do: the selected tickets were already there.")

    @admin.action(description="Resolve selected tickets (move to the board's done column)", permissions=["change"])
    def resolve_tickets(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move_each(
            request,
            queryset.open(),
            lambda t: t.board.first_column(Column.Category.DONE),
            "Resolved",
            "Resolved from admin.",
        )

    @admin.action(description="Reopen selected tickets (move to the board's entry column)", permissions=["change"])
    def reopen_tickets(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move_each(
            request,
            queryset.filter(resolved_at__isnull=False),
            lambda t: t.board.entry_column(),
            "Reopened",
            "Reopened from admin.",
        )


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["ticket", "author", "created_at", "internal", "minutes_worked", "excerpt"]
    list_filter = ["internal", "author", "ticket__board", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["ticket", "author"]
    # As for tickets: a notes table grows faster than tickets, so no full
    # count and no date drill-down (the created filter asks for ranges).
    ordering = ["-pk"]
    show_full_result_count = False
    search_fields = ["body", "ticket__title"]
    autocomplete_fields = ["ticket"]
    readonly_fields = ["author", "created_at"]
    fields = ["ticket", "body", "internal", "minutes_worked", "author", "created_at"]

    @admin.display(description="Note")
    def excerpt(self, obj: Note) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    def save_model(self, request: HttpRequest, obj: Note, form, change: bool) -> None:
        if obj.author_id is None and not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)
