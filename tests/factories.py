"""Small named casts of data for tests and benchmarks."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.contrib.auth.models import Group, User

from boards.models import MANAGERS_GROUP, TECHNICIANS_GROUP, Board, Column, Technician, Ticket
from boards.roles import ensure_roles
from routing import services

_counter = itertools.count(1)
PASSWORD = "switchback-test-pw"


def make_user(
    username: str,
    *,
    tier: int = 1,
    boards: list[Board] = (),
    skills=(),
    manager: bool = False,
    password: str = PASSWORD,
    **fields,
) -> User:
    ensure_roles()
    user = User.objects.create_user(
        username, email=f"{username}@example.com", password=password, is_staff=manager, **fields
    )
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP if manager else TECHNICIANS_GROUP))
    tech = Technician.objects.create(user=user, tier=tier)
    tech.boards.set(boards)
    tech.skills.set(skills)
    return user


def make_ticket(
    *,
    board: Board,
    column: Column | str | None = None,
    title: str | None = None,
    tier: int = 1,
    actor: User | None = None,
    now: datetime | None = None,
    **fields,
) -> Ticket:
    """A ticket opened through the routing service, as the app would open it."""
    if isinstance(column, str):
        column = board.columns.get(name=column)
    ticket = Ticket(
        board=board,
        column=column,
        title=title or f"Test ticket {next(_counter)}",
        tier=tier,
        requester_name="Pat Requester",
        requester_email="pat@example.com",
        **fields,
    )
    return services.open_ticket(ticket, actor=actor, now=now)
