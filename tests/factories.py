"""Small named casts of data for tests and benchmarks."""

from __future__ import annotations

import itertools
from datetime import datetime
from urllib.parse import quote

from django.contrib.auth.models import Group, User
from django.db import connection

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


def make_noc_p1_p2_limit(desk):
    """A time criterion with limits for P1 and P2 only (10 and 20 minutes): NOC → Support."""
    from routing.models import Criterion, Direction

    return Criterion.objects.create(
        name="NOC P1 and P2",
        direction=Direction.ESCALATE,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.noc,
        to_board=desk.support,
        p1_limit_minutes=10,
        p2_limit_minutes=20,
    )


def live_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_… copy),
    for subprocesses (a Celery worker, a sweep to kill) that must see its rows."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"
