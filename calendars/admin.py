"""Admin for calendars: a manager sets a board's time zone, hours and holidays.

A calendar is part of its board's settings, so whoever may view or change
boards may view or change calendars (``_BoardSettings``): the Managers group
needs no permissions of its own for this app.

Saving or deleting a calendar changes when its board's clocks run, so the save
ends with ``routing.services.recompute_deadlines`` in the same transaction,
as saving a criterion does: the deadline arithmetic keeps its one home there.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from routing import services

from .models import Calendar, Holiday, WorkingSpan, overlapping_spans, supported_countries
from .working import public_holidays


class _BoardSettings:
    """Permissions follow the board's: a calendar is one of a board's settings."""

    def _may_view(self, request: HttpRequest) -> bool:
        return request.user.has_perm("boards.view_board") or request.user.has_perm("boards.change_board")

    def _may_change(self, request: HttpRequest) -> bool:
        return request.user.has_perm("boards.change_board")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_view(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_change(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_change(request)


def _country_choices() -> list[tuple[str, str]]:
    from holidays.registry import COUNTRIES

    names = {spec[1]: module.replace("_", " ").title() for module, spec in COUNTRIES.items()}
    codes = sorted(supported_countries(), key=lambda code: names.get(code, code))
    return [("", "— no public holidays —")] + [(code, f"{names.get(code, code)} ({code})") for code in codes]


class CalendarForm(forms.ModelForm):
    class Meta:
        model = Calendar
        fields = ["board", "time_zone", "always_open", "country", "subdivision"]
        widgets = {"country": forms.Select(choices=_country_choices)}


class SpanForm(forms.ModelForm):
    class Meta:
        model = WorkingSpan
        fields = ["weekday", "start", "end"]
        # Spans are whole minutes: 08:00, not 08:00:00.
        widgets = {"start": forms.TimeInput(format="%H:%M"), "end": forms.TimeInput(format="%H:%M")}


class SpanFormSet(forms.BaseInlineFormSet):
    """The week's spans together: no two overlap on a day, and a calendar that isn't 24/7 has some."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        spans = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.start is not None
        ]
        problems = [f"{a} overlaps {b}: join them into one span or move one." for a, b in overlapping_spans(spans)]
        if problems:
            raise ValidationError(problems)
        if not spans and not self.instance.always_open:
            raise ValidationError(
                "Add working hours on at least one day, or tick 24/7 if this board's clocks always run."
            )


class WorkingSpanInline(_BoardSettings, admin.TabularInline):
    model = WorkingSpan
    form = SpanForm
    formset = SpanFormSet
    fields = ["weekday", "start", "end"]
    extra = 1

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_change(request)


class HolidayInline(_BoardSettings, admin.TabularInline):
    model = Holiday
    fields = ["date", "name"]
    extra = 1
    verbose_name_plural = "added holidays (on top of the country's)"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_change(request)


@admin.register(Calendar)
class CalendarAdmin(_BoardSettings, admin.ModelAdmin):
    form = CalendarForm
    list_display = ["board", "summary"]
    list_select_related = ["board"]
    search_fields = ["board__name", "time_zone", "country"]
    fields = ["board", "time_zone", "always_open", "country", "subdivision", "summary", "upcoming_public_holidays"]
    readonly_fields = ["summary", "upcoming_public_holidays"]
    inlines = [WorkingSpanInline, HolidayInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may_change(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list's summaries read every calendar's spans and holidays: three queries in all.
        return super().get_queryset(request).prefetch_related("spans", "holidays")

    @admin.display(description="In plain words")
    def summary(self, obj: Calendar) -> str:
        return obj.describe() if obj.pk else "—"

    @admin.display(description="Public holidays (this year and next)")
    def upcoming_public_holidays(self, obj: Calendar) -> str:
        if not obj.pk or not obj.country:
            return "—"
        today = timezone.now().astimezone(ZoneInfo(obj.time_zone)).date()
        days = sorted(
            day
            for year in (today.year, today.year + 1)
            for day in public_holidays(obj.country, obj.subdivision, year)
            if day >= today
        )
        return format_html_join(mark_safe("<br>"), "{}", ((f"{day:%a %d %b %Y}",) for day in days)) or "—"

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        with transaction.atomic(using=router.db_for_write(Calendar)):
            super().save_related(request, form, formsets, change)
            services.recompute_deadlines()

    def delete_model(self, request: HttpRequest, obj: Calendar) -> None:
        with transaction.atomic(using=router.db_for_write(Calendar)):
            super().delete_model(request, obj)
            services.recompute_deadlines()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(Calendar)):
            super().delete_queryset(request, queryset)
            services.recompute_deadlines()


class BoardCalendarInline(_BoardSettings, admin.StackedInline):
    """On the board's page: its calendar in plain words, and a link to edit it."""

    model = Calendar
    fields = ["summary"]
    readonly_fields = ["summary"]
    can_delete = False
    show_change_link = True
    verbose_name = "working hours"
    verbose_name_plural = "working hours"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        # Hours are set on the calendar's own page, where its spans are checked together.
        return False

    @admin.display(description="Calendar")
    def summary(self, obj: Calendar) -> str:
        return format_html("{}", obj.describe())
