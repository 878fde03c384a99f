"""Lockouts in admin: managers see who is locked out of logging in, and clear it.

django-axes' admin is switched off (AXES_ENABLE_ADMIN); this one keeps its
columns for access attempts and lets the Managers role (not only superusers)
view and delete them. Deleting an attempt lifts its lockout at once. Nobody
adds one by hand.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin

from boards.models import is_manager


class LockoutAdmin(AccessAttemptAdmin):
    def has_module_permission(self, request) -> bool:
        return is_manager(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_manager(request.user) or super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_manager(request.user) or super().has_delete_permission(request, obj)


admin.site.register(AccessAttempt, LockoutAdmin)
