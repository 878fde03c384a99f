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

from routing.models import Move
from routing.services import NotAllowed, check_version, facts_changed, move_ticket, open_ticket, touch_boards

from .models import Board, Client, Column, Note, Skill, Ticket


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
    ticket: Ticket, *, actor, expected_version: int | None, note: str = "", now: datetime | None = None
) -> Move | None:
    """Resolve = move to the board's first done column, through the one door."""
    done = ticket.board.first_column(Column.Category.DONE)
    if done is None:
        raise NotAllowed(f"The {ticket.board.name} board has no done column to resolve into.")
    return move_ticket(ticket.pk, actor=actor, expected_version=expected_version, to_column=done, note=note, now=now)
