"""The two roles and their model permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from .models import MANAGERS_GROUP, TECHNICIANS_GROUP

# Technicians work tickets; they never reach admin (they are not staff).
TECHNICIAN_PERMISSIONS = [
    "boards.view_board",
    "boards.view_column",
    "boards.view_skill",
    "boards.view_client",
    "boards.view_technician",
    "boards.view_ticket",
    "boards.add_ticket",
    "boards.change_ticket",
    "boards.view_note",
    "boards.add_note",
    "routing.view_criterion",
    "routing.view_move",
]

# Managers run the desk: everything on boards and criteria; moves stay read-only.
MANAGER_APPS = ("boards", "routing")
MANAGER_EXCLUDED = {"routing.add_move", "routing.change_move", "routing.delete_move"}


def _perms(codes: list[str]) -> list[Permission]:
    found = []
    for code in codes:
        app_label, codename = code.split(".")
        found.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    return found


def ensure_roles(sender=None, **kwargs) -> None:
    technicians, _ = Group.objects.get_or_create(name=TECHNICIANS_GROUP)
    technicians.permissions.set(_perms(TECHNICIAN_PERMISSIONS))
    managers, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    manager_perms = [
        p
        for p in Permission.objects.filter(content_type__app_label__in=MANAGER_APPS).select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" not in MANAGER_EXCLUDED
    ]
    manager_perms += list(
        Permission.objects.filter(content_type__app_label="auth", codename__in=["view_user", "change_user", "add_user"])
    )
    managers.permissions.set(manager_perms)
