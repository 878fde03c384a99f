"""The two roles, their model permissions, and how a person is given one.

Technicians work tickets through the boards and never reach admin. Managers
run the desk: they are staff, and admin is where they edit boards, columns,
criteria and people. Moves stay read-only for everyone (see routing.admin).
"""

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
MANAGER_APPS = ("boards", "routing", "intake", "requesters")
# Alerts are written by the intake endpoints alone; managers edit alert sources.
MANAGER_EXCLUDED = {
    "routing.add_move",
    "routing.change_move",
    "routing.delete_move",
    "intake.add_alert",
    "intake.change_alert",
    "intake.delete_alert",
    # Mail in and out is written by the poll and the outbox alone (requesters.admin).
    "requesters.add_inboundmessage",
    "requesters.change_inboundmessage",
    "requesters.add_unreadablemessage",
    "requesters.change_unreadablemessage",
    "requesters.add_outboundmessage",
    "requesters.add_requesterticket",
}
# People: managers add and edit accounts (deactivate rather than delete, so a
# Move's actor is never lost) and may see the groups, but not redefine them.
MANAGER_AUTH_PERMISSIONS = ["auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group"]

ROLES = {TECHNICIANS_GROUP, MANAGERS_GROUP}


def _perms(codes: list[str]) -> list[Permission]:
    found = []
    for code in codes:
        app_label, codename = code.split(".")
        found.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    return found


def ensure_roles(sender=None, **kwargs) -> None:
    """(Re)make both groups with their permissions; safe to call at any time."""
    technicians, _ = Group.objects.get_or_create(name=TECHNICIANS_GROUP)
    technicians.permissions.set(_perms(TECHNICIAN_PERMISSIONS))
    managers, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    manager_perms = [
        p
        for p in Permission.objects.filter(content_type__app_label__in=MANAGER_APPS).select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" not in MANAGER_EXCLUDED
    ]
    manager_perms += _perms(MANAGER_AUTH_PERMISSIONS)
    managers.permissions.set(manager_perms)


def assign_role(user, role: str) -> None:
    """Put a user in one role: its group, and staff status to match.

    Managers must be staff to reach admin; technicians must not be, so a
    technician account can never open admin whatever permissions it holds.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; use {TECHNICIANS_GROUP!r} or {MANAGERS_GROUP!r}.")
    ensure_roles()
    user.groups.remove(*Group.objects.filter(name__in=ROLES - {role}))
    user.groups.add(Group.objects.get(name=role))
    is_staff = role == MANAGERS_GROUP or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
