"""A ticket's column always belongs to its board: Ticket.save says so, and the database insists."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from boards.models import Ticket
from tests.conftest import USING_POSTGRES


def _check_now() -> None:
    """On PostgreSQL the constraint is DEFERRABLE INITIALLY DEFERRED: check at once."""
    if USING_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_save_refuses_a_column_from_another_board(ticket_factory, desk):
    ticket = ticket_factory()
    ticket.column = desk.support.entry_column()
    with pytest.raises(ValidationError, match="is not a column of the Triage board"):
        ticket.save()
    assert Ticket.objects.get(pk=ticket.pk).column.board == desk.triage


def test_clean_names_the_column_field(ticket_factory, desk):
    ticket = ticket_factory()
    ticket.column = desk.noc.entry_column()
    with pytest.raises(ValidationError) as caught:
        ticket.full_clean()
    assert "column" in caught.value.message_dict


def test_database_refuses_an_update_that_bypasses_save(ticket_factory, desk):
    ticket = ticket_factory()
    other = desk.support.entry_column()
    with pytest.raises(IntegrityError), transaction.atomic():
        _check_now()
        Ticket.objects.filter(pk=ticket.pk).update(column=other)
    assert Ticket.objects.get(pk=ticket.pk).column.board == desk.triage


def test_database_refuses_moving_the_board_alone(ticket_factory, desk):
    ticket = ticket_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _check_now()
        Ticket.objects.filter(pk=ticket.pk).update(board=desk.noc)


def test_database_refuses_an_insert_that_bypasses_save(desk):
    ticket = Ticket(title="Smuggled in", board=desk.triage, column=desk.support.entry_column())
    with pytest.raises(IntegrityError), transaction.atomic():
        _check_now()
        Ticket.objects.bulk_create([ticket])


def test_database_accepts_board_and_column_moved_together(ticket_factory, desk):
    ticket = ticket_factory()
    with transaction.atomic():
        _check_now()
        Ticket.objects.filter(pk=ticket.pk).update(board=desk.support, column=desk.support.entry_column())
    assert Ticket.objects.get(pk=ticket.pk).board == desk.support


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_checks_the_deferred_constraint_at_commit(desk):
    from tests.factories import make_ticket

    ticket = make_ticket(board=desk.triage)
    with pytest.raises(IntegrityError, match="ticket_column_on_board"), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(column=desk.support.entry_column())
        # Deferred: nothing is wrong yet, inside the transaction...
    # ...and the commit refused it.
    assert Ticket.objects.get(pk=ticket.pk).column.board == desk.triage


def test_admin_never_offers_to_move_a_column_to_another_board(ticket_factory):
    """Re-pointing a column at another board would strand its tickets there."""
    from django.contrib import admin

    from boards.models import Column

    column = ticket_factory().column
    assert "board" in admin.site._registry[Column].get_readonly_fields(None, column)
