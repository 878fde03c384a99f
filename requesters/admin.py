"""Admin for the requester side: mailboxes, client mail domains, templates, the form, and the errors list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from boards.models import Board

from . import services
from .models import (
    ClientDomain,
    InboundMessage,
    Mailbox,
    MailTemplate,
    OutboundMessage,
    RequesterTicket,
    RequestForm,
    UnreadableMessage,
)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "board", "active", "last_polled_at", "has_error"]
    list_filter = ["active", "board"]
    readonly_fields = ["last_polled_at", "last_error"]
    fieldsets = [
        (None, {"fields": ["name", "address", "active", "board", "column", "send_acknowledgements"]}),
        (
            "Server",
            {
                "fields": ["host", "port", "security", "username", "password_env"],
                "description": "The password is read from the environment variable named here, "
                "in the web, worker and beat processes alike; it is never stored in the database.",
            },
        ),
        ("Folders", {"fields": ["folder", "processed_folder", "errors_folder"]}),
        ("Last poll", {"fields": ["last_polled_at", "last_error"]}),
    ]
    actions = ["poll_now"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        triage = Board.objects.filter(slug="triage").values_list("pk", flat=True).first()
        if triage and "board" not in initial:
            initial["board"] = triage
        return initial

    @admin.display(boolean=True, description="Error")
    def has_error(self, mailbox: Mailbox) -> bool:
        return bool(mailbox.last_error)

    @admin.action(description="Read the selected mailboxes now")
    def poll_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        from . import imap

        for mailbox in queryset.select_related("board", "column"):
            result = imap.poll_and_record(mailbox)
            level = messages.ERROR if result.error else messages.SUCCESS
            self.message_user(request, f"{mailbox.name}: {result.summary()}", level)


@admin.register(ClientDomain)
class ClientDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "client"]
    search_fields = ["domain", "client__name"]
    list_select_related = ["client"]


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject"]


@admin.register(RequestForm)
class RequestFormAdmin(admin.ModelAdmin):
    filter_horizontal = ["offered_boards"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RequestForm.objects.exists()

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = 1  # one row
        super().save_model(request, obj, form, change)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(_ReadOnly):
    list_display = ["received_at", "mailbox", "sender", "subject", "outcome", "ticket"]
    list_filter = ["outcome", "mailbox"]
    search_fields = ["sender", "subject", "message_id"]
    list_select_related = ["mailbox", "ticket"]
    exclude = ["raw"]
    readonly_fields = ["eml"]
    actions = ["let_in"]

    @admin.action(description="Let the held messages in (past the sender's rate limit)")
    def let_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = sum(services.release_held(record) for record in queryset.filter(outcome=InboundMessage.Outcome.LIMITED))
        self.message_user(request, f"{done} held message(s) let in.")

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_eml"
        return [path("<int:pk>/eml/", self.admin_site.admin_view(self.download_eml), name=name), *super().get_urls()]

    @admin.display(description="Message as received")
    def eml(self, message: InboundMessage) -> str:
        if message.raw is None:
            return "Not kept (it became a ticket or note)."
        url = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_eml", args=[message.pk])
        return format_html('<a href="{}">Download the .eml</a> ({} bytes)', url, len(message.raw))

    def download_eml(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        message = get_object_or_404(InboundMessage, pk=pk, raw__isnull=False)
        response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
        return response


@admin.register(UnreadableMessage)
class UnreadableMessageAdmin(InboundMessageAdmin):
    """The errors list: messages that could not be read, each downloadable as its .eml."""

    list_display = ["received_at", "mailbox", "reason"]
    list_filter = ["mailbox"]
    actions = []

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(outcome=InboundMessage.Outcome.FAILED)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return True  # a manager who has dealt with one clears it


@admin.register(OutboundMessage)
class OutboundMessageAdmin(_ReadOnly):
    list_display = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject"]
    actions = ["send_again"]

    @admin.action(description="Send again (only for messages stuck in “being sent” or given up)")
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        stuck = queryset.filter(status__in=[OutboundMessage.Status.SENDING, OutboundMessage.Status.FAILED])
        pks = list(stuck.values_list("pk", flat=True))
        OutboundMessage.objects.filter(pk__in=pks).update(
            status=OutboundMessage.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        sent = sum(services.send_one(pk) == "sent" for pk in pks)
        self.message_user(request, f"{sent} of {len(pks)} message(s) sent again.")


@admin.register(RequesterTicket)
class RequesterTicketAdmin(_ReadOnly):
    list_display = ["ticket", "email", "channel", "created_at", "revoked_at"]
    list_filter = ["channel"]
    search_fields = ["email", "ticket__title"]
    list_select_related = ["ticket"]
    actions = ["revoke", "renew"]

    @admin.action(description="Revoke the status link")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for link in queryset:
            services.revoke_link(link)
        self.message_user(request, "The status links no longer work.")

    @admin.action(description="Issue a new status link (older ones stop working)")
    def renew(self, request: HttpRequest, queryset: QuerySet) -> None:
        for link in queryset:
            services.renew_link(link)
        self.message_user(request, "New links issued; the next mail to each requester carries it.")
