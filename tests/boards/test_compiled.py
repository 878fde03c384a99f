"""The board's "what changed" read, compiled once per shape, gives the rows the queryset gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boards.cards import _CHANGED, CHANGE_LIMIT, DONE_WINDOW, _changed_tickets
from boards.models import Board, Ticket
from helpdesk.compiled import CompiledValues
from routing import services


def _values(board: Board, since, *, also=None) -> dict:
    now = timezone.now()
    done = [c.pk for c in board.columns.all() if c.is_done]
    return {
        "board": board.pk,
        "cut": since,
        "done_ids": done,
        "done_from": now - DONE_WINDOW,
        **({"also": also} if also is not None else {}),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("needs_sender", [False, True])
def test_the_compiled_read_gives_the_querysets_rows_for_every_shape(desk, manager, ticket_factory, needs_sender):
    before = timezone.now() - timedelta(seconds=1)
    tickets = [ticket_factory(title=f"Card {n}") for n in range(4)]
    in_progress = desk.triage.columns.get(name="In progress")
    services.move_ticket(tickets[0].pk, actor=manager, expected_version=1, to_column=in_progress)
    services.move_ticket(tickets[1].pk, actor=manager, expected_version=1, criterion=desk.criteria["Beyond this tier"])
    done = desk.triage.columns.get(category="done")
    services.move_ticket(tickets[2].pk, actor=manager, expected_version=1, to_column=done)
    untouched = Ticket.objects.filter(pk=tickets[3].pk)
    untouched.update(updated_at=before - timedelta(hours=1))

    for also in (None, tickets[3].pk):
        shape = (needs_sender, also is not None)
        values = _values(desk.triage, before, also=also)
        expected = list(_changed_tickets(shape, **values))
        assert _CHANGED.rows(shape, **values) == expected
        # Other values in the same shape: the template is reused, and still right.
        later = _values(desk.triage, timezone.now() + timedelta(minutes=1), also=also)
        assert _CHANGED.rows(shape, **later) == list(_changed_tickets(shape, **later))
    shown = {row["pk"]: row["shown"] for row in expected}
    assert shown == {tickets[0].pk: True, tickets[1].pk: False, tickets[2].pk: True, tickets[3].pk: True}
    # The board left by the escalated ticket still reads its own revision.
    assert {row["board_revision"] for row in expected} == {Board.objects.get(pk=desk.triage.pk).revision}


@pytest.mark.postgres
def test_a_compiled_read_is_one_statement_with_no_compiling_after_the_first(desk, ticket_factory):
    ticket_factory(title="Card")
    values = _values(desk.triage, timezone.now() - timedelta(minutes=1))
    shape = (False, False)
    _CHANGED.rows(shape, **values)
    with CaptureQueriesContext(connection) as queries:
        _CHANGED.rows(shape, **values)
    assert len(queries) == 1 and f"LIMIT {CHANGE_LIMIT + 1}" in queries[0]["sql"]


@pytest.mark.postgres
def test_a_value_django_writes_inline_is_refused_when_the_shape_is_compiled(desk):
    limited = CompiledValues(lambda key, *, board, first: Ticket.objects.filter(board_id=board).values("pk")[:first])
    with pytest.raises(ValueError):  # a slice is written inline: refused, never run with a wrong LIMIT
        limited.rows("k", board=desk.triage.pk, first=5)
    with pytest.raises(TypeError):
        CompiledValues(lambda key, *, flag: Ticket.objects.filter(Q(pk__gt=0)).values("pk")).rows("k", flag=True)


def test_elsewhere_the_queryset_is_simply_evaluated(desk, ticket_factory):
    ticket = ticket_factory(title="Card")
    values = _values(desk.triage, timezone.now() - timedelta(minutes=1))
    rows = _CHANGED.rows((False, False), **values)
    assert [row["pk"] for row in rows] == [ticket.pk]
