"""`manage.py load_demo`: a believable desk, and running it twice changes nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from io import StringIO

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone

from boards.demo import DEMO_PASSWORD, TICKETS
from boards.models import MANAGERS_GROUP, Board, Client, Column, Note, Technician, Ticket
from routing import services
from routing.models import Criterion, Move


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Board, Column, User, Group, Technician, Client, Ticket, Move, Note, Criterion)
    }


def _load(**options) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def test_running_twice_gives_the_same_counts(db):
    first = _load()
    counts = _counts()
    second = _load()
    assert _counts() == counts
    assert counts["Ticket"] == len(TICKETS) >= 40
    assert counts["Board"] == 3
    assert f"Created {len(TICKETS)} demo ticket(s)" in first
    assert "Created 0 demo ticket(s)" in second


def test_rerun_after_the_desk_moved_on_still_changes_nothing(db):
    _load()
    services.sweep(timezone.now())  # the scheduler escalates whatever is overdue
    counts = _counts()
    _load()
    assert _counts() == counts


def test_dry_run_saves_nothing(db):
    out = _load(dry_run=True)
    assert "Would create" in out and "dry run" in out
    assert Ticket.objects.count() == 0
    assert User.objects.count() == 0


def test_prints_the_logins_and_the_url(db):
    out = _load()
    assert "http://127.0.0.1:8000/" in out
    for username in ("manager", "tess", "jordan", "sam", "priya", "rex"):
        assert username in out
    assert DEMO_PASSWORD in out


def test_people_have_their_roles_and_passwords(db):
    _load()
    manager = User.objects.get(username="manager")
    assert manager.is_staff and not manager.is_superuser
    assert manager.groups.filter(name=MANAGERS_GROUP).exists()
    assert manager.check_password(DEMO_PASSWORD)
    tiers = {t.user.username: (t.tier, {b.slug for b in t.boards.all()}) for t in Technician.objects.all()}
    assert tiers["tess"] == (1, {"triage"})
    assert tiers["sam"] == (2, {"support", "noc"})
    assert tiers["rex"] == (3, {"support"})
    assert not User.objects.filter(technician__isnull=False, is_staff=True).exists()


def test_the_desk_tells_a_story(db):
    _load()
    now = timezone.now()
    # Every board has work, and the timelines show both directions and the scheduler.
    for board in Board.objects.all():
        assert board.tickets.open().exists(), board
    used = set(Move.objects.exclude(criterion=None).values_list("criterion__name", flat=True))
    assert {
        "Tier 1 time limit",
        "Beyond this tier",
        "Needs onsite visit",
        "User error discovered",
        "Onsite complete",
    } <= used
    assert Move.objects.filter(actor=None, criterion__name="Tier 1 time limit").exists()
    # Some Triage clocks are close to the limit, some past it.
    deadlines = list(Ticket.objects.open().exclude(deadline_at=None).values_list("deadline_at", flat=True))
    assert any(d <= now for d in deadlines)
    assert any(now < d <= now + timedelta(minutes=10) for d in deadlines)
    assert Note.objects.count() >= 10
    # Each ticket's moves form an unbroken chain from where it opened to where it is.
    for ticket in Ticket.objects.all():
        moves = list(ticket.moves.order_by("created_at", "pk"))
        assert moves[0].note == "Opened"
        for before, after in itertools.pairwise(moves):
            assert (after.from_board_id, after.from_column_id) == (before.to_board_id, before.to_column_id)
        assert (moves[-1].to_board_id, moves[-1].to_column_id) == (ticket.board_id, ticket.column_id)


def test_replaying_the_demo_history_emails_nobody(db, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _load()

    assert Move.objects.filter(criterion__isnull=False).exists()  # escalations were replayed…
    assert callbacks == []  # …without queueing a notification
    assert mailoutbox == []
