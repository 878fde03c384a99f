"""Service tokens: a manager makes them here for integrations, and revokes them.

The token is shown once, on the page that answers the save; only its prefix
and hash are kept. Managers reach this through their role (not a model
permission in boards.roles): tokens are part of running the desk.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.template.response import TemplateResponse
from django.utils import timezone

from boards.models import is_manager

from .models import ApiToken


class ServiceTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = User.objects.filter(is_active=True).order_by("username")
        if request is not None and not request.user.is_superuser:
            # A manager may not mint a token that acts as a superuser.
            users = users.filter(is_superuser=False)
        self.fields["user"].queryset = users


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "kind", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind", "scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = [
        "user",
        "name",
        "kind",
        "scope",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def _manager(self, request) -> bool:
        return is_manager(request.user) and request.user.is_staff

    def has_module_permission(self, request) -> bool:
        return self._manager(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._manager(request)

    def has_add_permission(self, request) -> bool:
        return self._manager(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token is made, used and revoked; never edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked tokens stay listed, so "what was this?" keeps an answer

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            form = ServiceTokenForm

            class WithRequest(form):
                def __init__(self, *args, **kw):
                    super().__init__(*args, request=request, **kw)

            return WithRequest
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        obj.kind = ApiToken.Kind.SERVICE
        obj.created_by = request.user
        request._new_token = obj.issue()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj: ApiToken, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "Service token created",
            "token": obj,
            "token_text": request._new_token,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/api/apitoken/created.html", context)

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return self._manager(request)
