"""Admin for criteria (which managers tune) and moves (which nobody edits).

Every open ticket's deadline depends on the active time criteria, so any
admin write to criteria recomputes deadlines — once per request, inside the
request's transaction, so the sweep never sees a committed criterion with
stale deadlines. The same moment, the map's lint (``flow.lint``) tells the
manager what the change left unsound: findings about the saved criterion
first, then a count of the rest with a link to the Flow page.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from django.contrib import admin
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from boards.models import Column
from flow import lint

from . import services
from .models import BounceFlag, Criterion, CriterionChange, Move


@dataclass
class _Changes:
    """What one admin view changed: whether deadlines need recomputing, and what to lint."""

    happened: bool = False
    about: set[str] = field(default_factory=set)


_CHANGES: ContextVar[_Changes | None] = ContextVar("criteria_admin_changes", default=None)


@admin.register(Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["name", "direction", "fires", "origin", "destination", "time_limit_minutes", "active", "position"]
    list_display_links = ["name"]
    list_editable = ["time_limit_minutes", "active", "position"]
    list_filter = ["direction", "trigger", "active", "from_board", "to_board"]
    list_select_related = ["from_board", "to_board"]
    search_fields = ["name", "description"]
    ordering = ["position", "name"]
    readonly_fields = ["edit_history"]
    fieldsets = [
        (None, {"fields": ["name", "description", "direction", "active", "position"]}),
        (
            "When it fires",
            {
                "fields": [
                    "trigger",
                    "time_limit_minutes",
                    ("p1_limit_minutes", "p2_limit_minutes", "p3_limit_minutes", "p4_limit_minutes"),
                    "warn_before_minutes",
                    "warn_at_percent",
                    "condition",
                ],
                "description": "A time criterion needs a limit in active minutes — for every priority, and/or "
                "a limit of a priority's own (P1 10, P2 20…); with only priority limits it applies to those "
                "priorities alone. It may warn before it fires "
                "(minutes before, or a share of the limit: one of the two); "
                "a condition criterion names its condition; a manual one needs neither.",
            },
        ),
        ("From", {"fields": ["from_board", "from_tier"]}),
        ("To", {"fields": ["to_board", "to_tier", "to_column"]}),
        ("History", {"fields": ["edit_history"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Edits")
    def edit_history(self, criterion: Criterion) -> str:
        """Who changed what, and when (CriterionChange, written by routing.services.save_criterion)."""
        if criterion.pk is None:
            return "—"
        changes = CriterionChange.objects.filter(criterion=criterion).select_related("changed_by").order_by("-pk")
        lines = [
            format_html(
                "<li>{} · {} · {}</li>",
                f"{change.changed_at:%Y-%m-%d %H:%M}",
                change.who,
                ", ".join(
                    "created" if field == "created" else f"{field}: {values[0]} → {values[1]}"
                    for field, values in change.changes.items()
                ),
            )
            for change in changes[:50]
        ]
        return format_html("<ul>{}</ul>", format_html_join("", "{}", ((line,) for line in lines))) if lines else "—"

    @admin.display(description="Trigger", ordering="trigger")
    def fires(self, criterion: Criterion) -> str:
        if criterion.trigger == Criterion.Trigger.CONDITION:
            return f"Condition: {criterion.get_condition_display().lower()}" if criterion.condition else "Condition"
        return criterion.trigger.capitalize()

    @admin.display(description="From", ordering="from_board__position")
    def origin(self, criterion: Criterion) -> str:
        board = criterion.from_board.name if criterion.from_board_id else "Any board"
        return board if criterion.from_tier is None else f"{board} · tier {criterion.from_tier}"

    @admin.display(description="To", ordering="to_board__position")
    def destination(self, criterion: Criterion) -> str:
        board = criterion.to_board.name if criterion.to_board_id else "Same board"
        return board if criterion.to_tier is None else f"{board} · tier {criterion.to_tier}"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "to_column":
            # Column names include their board's: one query, not one per option.
            kwargs["queryset"] = Column.objects.select_related("board")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Deadlines are recomputed once, at the end of any view that changed a
    # criterion, and the map is linted then too, after Django's own "saved"
    # message. One admin instance serves every request, so what a view changed
    # lives in a context variable set for the length of that view.
    def _criteria_changed(self, request: HttpRequest, *criteria: Criterion) -> None:
        changes = _CHANGES.get()
        if changes is None:  # a save outside the admin's views: recompute at once
            services.recompute_deadlines()
            return
        changes.happened = True
        # What the change touched: the criteria, and the boards they lead from and to.
        for criterion in criteria:
            changes.about |= {
                f"criterion:{criterion.pk}",
                *(f"board:{pk}" for pk in (criterion.from_board_id, criterion.to_board_id) if pk),
            }

    def _recompute_after(self, view, request: HttpRequest, *args, **kwargs):
        changes = _Changes()
        token = _CHANGES.set(changes)
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                response = view(request, *args, **kwargs)
                if changes.happened:
                    services.recompute_deadlines()
                    lint.admin_messages(request, about=changes.about)
        finally:
            _CHANGES.reset(token)
        return response

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._recompute_after(super().changeform_view, request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        # Covers list_editable saves and the "delete selected" action.
        return self._recompute_after(super().changelist_view, request, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._recompute_after(super().delete_view, request, object_id, extra_context)

    # Saves and deletions go through routing.services, which records who
    # changed what (CriterionChange); the deadlines are recomputed once per
    # request by _recompute_after, with the same services.recompute_deadlines.
    def save_model(self, request: HttpRequest, obj: Criterion, form, change: bool) -> None:
        services.save_criterion(obj, actor=request.user, recompute=False)
        self._criteria_changed(request, obj)

    def delete_model(self, request: HttpRequest, obj: Criterion) -> None:
        gone = Criterion(pk=obj.pk, from_board_id=obj.from_board_id, to_board_id=obj.to_board_id)
        services.delete_criterion(obj, actor=request.user, recompute=False)
        self._criteria_changed(request, gone)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        gone = [Criterion(pk=c.pk, from_board_id=c.from_board_id, to_board_id=c.to_board_id) for c in queryset]
        for criterion in queryset:
            services.delete_criterion(criterion, actor=request.user, recompute=False)
        self._criteria_changed(request, *gone)


class ActorFilter(admin.SimpleListFilter):
    title = "made by"
    parameter_name = "by"

    def lookups(self, request, model_admin):
        return [("scheduler", "The scheduler"), ("person", "A person")]

    def queryset(self, request, queryset):
        if self.value() == "scheduler":
            return queryset.filter(actor__isnull=True)
        if self.value() == "person":
            return queryset.filter(actor__isnull=False)
        return queryset


@admin.register(Move)
class MoveAdmin(admin.ModelAdmin):
    """The record of every move: searchable, filterable, never changed."""

    list_display = [
        "created_at",
        "ticket",
        "from_board",
        "to_board",
        "to_column",
        "tier_change",
        "direction",
        "criterion",
        "who",
    ]
    list_filter = ["direction", "criterion", "to_board", "from_board", ActorFilter]
    list_select_related = ["ticket", "from_board", "to_board", "to_column__board", "criterion", "actor"]
    search_fields = ["ticket__title", "note", "criterion__name", "actor__username"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    fields = [
        "created_at",
        "ticket",
        "from_board",
        "from_column",
        "from_tier",
        "to_board",
        "to_column",
        "to_tier",
        "direction",
        "criterion",
        "who",
        "note",
    ]
    readonly_fields = fields

    @admin.display(description="Tier")
    def tier_change(self, move: Move) -> str:
        if move.from_tier is None or move.from_tier == move.to_tier:
            return str(move.to_tier)
        return f"{move.from_tier} → {move.to_tier}"

    @admin.display(description="By", ordering="actor__username")
    def who(self, move: Move) -> str:
        return move.actor_name

    # Append-only, for superusers too.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Move | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Move | None = None) -> bool:
        return False


@admin.register(BounceFlag)
class BounceFlagAdmin(admin.ModelAdmin):
    """The tickets passed back and forth, for managers; a person's move of the ticket clears its flag.

    A manager may also flag a ticket by hand (add), e.g. to keep the scheduler off it.
    """

    list_display = ["ticket", "reason", "flagged_at"]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["ticket", "reason", "flagged_at"] if obj is not None else []
