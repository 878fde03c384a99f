"""The 0004 backfill: notes written before a requester's mark kept who wrote them are named from their first line."""

from __future__ import annotations

from importlib import import_module

import pytest

backfill = import_module("requesters.migrations.0004_requester_note_author")


@pytest.mark.parametrize(
    ("body", "who"),
    [
        (
            "Pat Requester <pat@northwind.example> wrote by email:\n\nStill broken.",
            ("Pat Requester", "pat@northwind.example"),
        ),
        ('"Doe, Jo" <Jo@Northwind.example> wrote by email:\n\nHi', ("Doe, Jo", "jo@northwind.example")),
        ("pat@northwind.example wrote on the status page:\n\nAny news?", ("", "pat@northwind.example")),
        ("A note someone typed by hand", ("", "")),
        ("not an address wrote by email:\n\nHi", ("", "")),
    ],
    ids=["name-and-address", "quoted-name", "address-only", "no-first-line", "no-address"],
)
def test_who_wrote_an_older_note_is_read_from_its_first_line(body, who):
    assert backfill.who_wrote(body) == who


def test_the_backfill_names_the_requester_on_notes_already_written(desk):
    from django.apps import apps

    from boards.services import add_note
    from requesters.models import RequesterNote
    from tests.factories import make_ticket

    ticket = make_ticket(board=desk.triage)
    note = add_note(ticket, author=None, body="Pat <pat@northwind.example> wrote by email:\n\nHi", internal=False)
    RequesterNote.objects.create(note=note, via="email")

    backfill.backfill(apps, None)

    mark = RequesterNote.objects.select_related("note").get(note=note)
    assert (mark.name, mark.email, mark.note.author_name) == ("Pat", "pat@northwind.example", "Pat")
