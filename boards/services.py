"""Ticket writes that are not moves: open, assign, note, facts, tier, resolve.

A ticket's board, column and tier still change only in ``routing.services``:
opening goes through ``open_ticket``, a tier change and a resolve through
``move_ticket``, and a change of needs-onsite or required skills through
``facts_changed`` (which may fire a condition criterion and move the ticket).
This module only writes the fields around them, under the same row lock and
version check, so a technician never edits a ticket that moved since they
looked at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from routing.models import Criterion, Move
from routing.services import NotAllowed, check_version, facts_changed, move_ticket, open_ticket, touch_boards

from .models import Board, Client, Column, Note, Skill, Ticket, Watch


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def create_ticket(
    board: Board,
    *,
    actor,
    title: str,
    priority: int = Ticket.Priority.P3,
    client: Client | None = None,
    requester_name: str = "",
    requester_email: str = "",
    description: str = "",
    tier: int = 1,
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket on ``board`` (its entry column) through the one door."""
    ticket = Ticket(
        board=board,
        title=title,
        priority=priority,
        client=client,
        requester_name=requester_name,
        requester_email=requester_email,
        description=description,
        tier=tier,
    )
    return open_ticket(ticket, actor=actor, now=now)


@dataclass
class UpdateResult:
    """What an update changed: field names, and the moves it caused (tier, conditions)."""

    changed: list[str] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)


def update_ticket(
    ticket: Ticket,
    *,
    actor,
    expected_version: int | None,
    assignee=UNSET,
    tier: int | None = None,
    needs_onsite: bool | None = None,
    required_skills: Iterable[Skill] | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Change assignee, tier and facts in one transaction.

    1. Lock the row and check the version the technician saw.
    2. Write assignee and needs-onsite on the row, required skills on the M2M.
    3. A tier change is a move: ``move_ticket(to_tier=...)``.
    4. Changed facts go to ``facts_changed``, which may fire a condition
       criterion (the ticket then leaves the board, and the move names it).
    Arguments left at their defaults are not touched.
    """
    now = now or timezone.now()
    result = UpdateResult()
    with transaction.atomic():
        locked = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
        check_version(locked, expected_version)

        row_fields = []
        if assignee is not UNSET and locked.assignee_id != (assignee.pk if assignee else None):
            locked.assignee = assignee
            row_fields.append("assignee")
        if needs_onsite is not None and locked.needs_onsite != needs_onsite:
            locked.needs_onsite = needs_onsite
            row_fields.append("needs_onsite")
        if row_fields:
            locked.save(update_fields=[*row_fields, "updated_at"])
        result.changed += row_fields

        if required_skills is not None:
            wanted = {skill.pk for skill in required_skills}
            if wanted != set(locked.required_skills.values_list("pk", flat=True)):
                locked.required_skills.set(wanted)
                result.changed.append("required_skills")

        if tier is not None and tier != locked.tier:
            move = move_ticket(locked.pk, actor=actor, expected_version=expected_version, to_tier=tier, now=now)
            if move is not None:
                result.moves.append(move)
                result.changed.append("tier")

        if {"needs_onsite", "required_skills"} & set(result.changed):
            move = facts_changed(locked, actor=actor, now=now)
            if move is not None:
                result.moves.append(move)
        elif result.changed and "tier" not in result.changed:
            # An assignee shows on the card: tell open copies of the board.
            touch_boards([locked.board_id])
    return result


def add_note(
    ticket: Ticket,
    *,
    author,
    body: str,
    internal: bool = True,
    minutes_worked: int = 0,
    now: datetime | None = None,
) -> Note:
    return Note.objects.create(
        ticket=ticket,
        author=author,
        body=body,
        internal=internal,
        minutes_worked=minutes_worked or 0,
        created_at=now or timezone.now(),
    )


def resolve_ticket(
    ticket: Ticket,
    *,
    actor,
    expected_version: int | None,
    note: str = "",
    internal: bool = True,
    now: datetime | None = None,
) -> Move | None:
    """Resolve = move to the board's first done column, through the one door.

    A resolution ``note`` is kept as a note on the ticket (customer-visible
    unless ``internal``), marked as the resolution, in the same transaction.
    """
    now = now or timezone.now()
    done = ticket.board.first_column(Column.Category.DONE)
    if done is None:
        raise NotAllowed(f"The {ticket.board.name} board has no done column to resolve into.")
    with transaction.atomic():
        move = move_ticket(ticket.pk, actor=actor, expected_version=expected_version, to_column=done, now=now)
        if move is not None and note.strip():
            Note.objects.create(
                ticket=ticket, author=actor, body=note.strip(), internal=internal, resolution=True, created_at=now
            )
    return move


def reopen_ticket(ticket: Ticket, *, actor, expected_version: int | None, now: datetime | None = None) -> Move | None:
    """Reopen a resolved ticket on the board it was resolved on, through the one door.

    It goes back to the column it was resolved from when that is still an
    open column of this board, else to the board's entry column.
    """
    last_resolve = (
        ticket.moves.filter(to_board=ticket.board, to_column__category=Column.Category.DONE)
        .exclude(from_column__category=Column.Category.DONE)
        .select_related("from_column")
        .order_by("-pk")
        .first()
    )
    column = None
    if last_resolve is not None and last_resolve.from_column and last_resolve.from_column.board_id == ticket.board_id:
        column = last_resolve.from_column
    column = column or ticket.board.entry_column()
    if column is None or column.is_done:
        raise NotAllowed(f"The {ticket.board.name} board has no open column to reopen into.")
    return move_ticket(ticket.pk, actor=actor, expected_version=expected_version, to_column=column, now=now)


def move_with_criterion(
    ticket: Ticket,
    *,
    actor,
    criterion: Criterion,
    expected_version: int | None,
    note: str = "",
    now: datetime | None = None,
) -> Move | None:
    """Escalate, de-escalate or transfer by hand with a criterion the technician picked.

    1. A condition criterion picked by hand makes its fact true ("Needs onsite
       visit" ticks needs-onsite), under the row lock and version check, so the
       ticket says why it moved and the condition agrees with where it is.
    2. The move itself, through the one door.
    3. The technician follows the ticket they handed on: it stays on their
       home and they may open it until it is resolved.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if criterion.condition == Criterion.Condition.NEEDS_ONSITE:
            locked = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
            check_version(locked, expected_version)
            if not locked.needs_onsite:
                locked.needs_onsite = True
                locked.save(update_fields=["needs_onsite", "updated_at"])
        move = move_ticket(
            ticket.pk,
            actor=actor,
            expected_version=expected_version,
            criterion=criterion,
            direction=criterion.direction,
            note=note,
            now=now,
        )
        if move is not None and actor is not None:
            follow(ticket, actor, now=now)
    return move


def follow(ticket: Ticket, user, *, following: bool = True, now: datetime | None = None) -> bool:
    """Start or stop following a ticket. Returns whether anything changed."""
    if following:
        _, created = Watch.objects.get_or_create(
            ticket=ticket, user=user, defaults={"created_at": now or timezone.now()}
        )
        return created
    deleted, _ = Watch.objects.filter(ticket=ticket, user=user).delete()
    return bool(deleted)
