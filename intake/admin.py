"""Admin for alert sources: where a monitoring system's alerts land, and its URLs to paste.

The secret token is shown once, when the source is saved for the first time or
a new one is issued (only its hash is kept).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from boards.models import Board

from .models import Alert, AlertSource


def _token_message(request: HttpRequest, source: AlertSource, token: str) -> None:
    messages.success(
        request,
        format_html(
            "The token of “{}” is <code>{}</code>. Copy it now: only a hash of it is kept. "
            "Alertmanager sends it as <code>Authorization: Bearer …</code>; event senders as the routing key.",
            source.name,
            token,
        ),
    )


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "board", "active", "alert_count"]
    list_filter = ["active", "board"]
    fields = [
        "name",
        "active",
        "endpoints",
        "board",
        "column",
        "severity_priorities",
        "default_priority",
        "client_label",
        "flap_window_minutes",
        "still_firing_minutes",
    ]
    readonly_fields = ["endpoints"]
    actions = ["issue_new_token"]

    class Media:
        js = ["switchback/intake-admin.js"]
        css = {"all": ["switchback/intake-admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("board")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        noc = Board.objects.filter(slug="noc").values_list("pk", flat=True).first()
        if noc and "board" not in initial:
            initial["board"] = noc
        return initial

    @admin.display(description="Alerts received")
    def alert_count(self, source: AlertSource) -> int:
        return source.alerts.count()

    @admin.display(description="URLs")
    def endpoints(self, source: AlertSource) -> str:
        if not source.pk:
            return "Shown once the source is saved."
        rows = [("Alertmanager webhook", source.alertmanager_path()), ("Events API v2", source.events_path())]
        return format_html(
            '<dl class="intake-urls">{}</dl>',
            format_html_join(
                "",
                '<dt>{}</dt><dd><code class="intake-url" data-path="{}">{}</code> '
                '<button type="button" class="button intake-copy" hidden>Copy</button></dd>',
                ((label, path, path) for label, path in rows),
            ),
        )

    def save_model(self, request: HttpRequest, obj: AlertSource, form, change: bool) -> None:
        token = None if obj.token_hash else obj.set_token()
        super().save_model(request, obj, form, change)
        if token:
            _token_message(request, obj, token)

    @admin.action(description="Issue a new token (the old one stops working)")
    def issue_new_token(self, request: HttpRequest, queryset: QuerySet) -> None:
        for source in queryset:
            token = source.set_token()
            source.save(update_fields=["token_hash"])
            _token_message(request, source, token)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts are written by the intake endpoints alone."""

    list_display = ["name", "source", "ticket", "status", "current", "fired_at", "resolved_at"]
    list_filter = ["source", "status", "current"]
    search_fields = ["name", "fingerprint"]
    list_select_related = ["source", "ticket"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
