"""Who may see and who may change a ticket: the one home of the rule.

- A manager works every board.
- A technician works the boards on their Technician profile.
- A ticket may be *seen* by those who work its board, by its assignee and by
  those who follow it (a ticket escalated away from you that is still yours,
  or that you escalated, stays readable). Any technician may follow any ticket.
- A ticket may be *changed* (moved, edited, noted) only by those who work its
  board; its assignee on another board reads it but may not change it.

The board views, the REST API and anything else that asks goes through these
functions, or through the QuerySet forms of the same rule,
``Ticket.objects.visible_to(user)`` and ``Ticket.objects.workable_by(user)``
(boards/models.py), which ask the database the same question for a list.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q

from .models import MANAGERS_GROUP, Board, Technician, Ticket, Watch, is_manager


def worked_board_ids(user) -> frozenset[int] | None:
    """The boards the user works, or None for a manager (every board).

    Read once per user object and kept on it: a request's user is loaded
    afresh for each request, so the answer lives exactly as long as one.
    """
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if not hasattr(user, "_switchback_boards"):
        if user.is_superuser or hasattr(user, "_switchback_is_manager"):
            user._switchback_boards = (
                None if is_manager(user) else frozenset(Board.objects.for_user(user).values_list("pk", flat=True))
            )
        else:
            # Whether they manage and which boards they work, in one read: a row per board (None for none).
            rows = list(
                get_user_model()
                .objects.filter(pk=user.pk)
                .annotate(manager=Exists(Group.objects.filter(user=OuterRef("pk"), name=MANAGERS_GROUP)))
                .values_list("manager", "technician__boards")
            )
            user._switchback_is_manager = bool(rows) and rows[0][0]
            user._switchback_boards = (
                None if user._switchback_is_manager else frozenset(board for _, board in rows if board is not None)
            )
    return user._switchback_boards


def works_the_desk(user) -> bool:
    """A manager, or anyone with a technician profile: who may follow (and so read) any ticket."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_manager(user) or Technician.objects.filter(user=user).exists()


def can_work(user, board_id: int) -> bool:
    """Whether the user may move, edit and add notes to tickets on this board."""
    worked = worked_board_ids(user)
    return worked is None or board_id in worked


def followed_ticket_ids(user) -> list[int]:
    """The tickets the user follows (a handful: following ends with the ticket's resolution in practice)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted(Watch.objects.filter(user=user).values_list("ticket_id", flat=True))


def can_view(user, ticket: Ticket) -> bool:
    """Whether the user may open this ticket: they work its board, it is assigned to them, or they follow it."""
    if can_work(user, ticket.board_id) or (ticket.assignee_id is not None and ticket.assignee_id == user.pk):
        return True
    return getattr(user, "is_authenticated", False) and Watch.objects.filter(user=user, ticket_id=ticket.pk).exists()


def visible_q(user) -> Q:
    """``can_view`` as a filter on tickets (see ``TicketQuerySet.visible_to``)."""
    if is_manager(user):
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    # The board ids as literals (read once, see worked_board_ids) rather than a
    # join or subquery: a join OR-ed with the assignee would repeat a ticket
    # once per technician of its board, and PostgreSQL can't estimate a
    # subquery's rows, which led it to sort every open ticket of a board
    # before taking a page of 25 (bench/api.py).
    # Followed tickets as literal ids too, for the same reason (and no join to repeat rows).
    visible = Q(board_id__in=sorted(worked_board_ids(user) or ())) | Q(assignee_id=user.pk)
    followed = followed_ticket_ids(user)
    return visible | Q(pk__in=followed) if followed else visible


def workable_q(user) -> Q:
    """``can_work`` as a filter on tickets (see ``TicketQuerySet.workable_by``)."""
    if is_manager(user):
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    return Q(board_id__in=sorted(worked_board_ids(user) or ()))


def assignable_users(board: Board, user):
    """Who ``user`` may assign a ticket on ``board`` to: those who work the board, and themselves."""
    from django.contrib.auth.models import User

    return (
        User.objects.filter(Q(technician__boards=board) | Q(pk=user.pk), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
