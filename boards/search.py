"""Search across every board: ticket number, title, requester, client and note text.

On PostgreSQL each source is one query through its own index, newest first
and bounded, and the results are the union of those few ids:

1. ``#123`` or ``123``: the ticket with that number (primary key).
2. Title, requester name and e-mail: full-text, ``ticket_search_idx``
   (an expression GIN index, migration 0007; TICKET_VECTOR repeats its
   expression exactly, which is how PostgreSQL matches the two).
3. Note text: full-text, ``note_search_idx`` (NOTE_VECTOR).
4. Client name: the few matching clients, then their newest tickets.

Words are matched as prefixes ("print" finds "printer") with the ``simple``
configuration: no stemming or stop words, so names and error codes match as
typed. On SQLite (a laptop's ``make run``) the same sources are searched with
LIKE. Either way only tickets the user may open are returned
(``Ticket.objects.visible_to``), and never more than ``limit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL

from .forms import ascii_int
from .models import Client, Note, Ticket

# Keep in step with boards/migrations/0007_search_indexes.py.
TICKET_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(requester_name, '')"
    " || ' ' || coalesce(requester_email, ''))"
)
NOTE_VECTOR = "to_tsvector('simple'::regconfig, body)"

LIMIT = 50
MAX_WORDS = 8
# Letters and digits only: nothing in a word can mean anything to to_tsquery.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Query:
    text: str
    words: tuple[str, ...]
    number: int | None

    @classmethod
    def parse(cls, text: str) -> Query:
        text = text.strip()[:200]
        words = tuple(w.lower() for w in _WORD.findall(text))[:MAX_WORDS]
        return cls(text=text, words=words, number=ascii_int(text.lstrip("#").strip()))

    @property
    def empty(self) -> bool:
        return not self.words and self.number is None

    def tsquery(self) -> str:
        """Every word as a prefix, all required: ``print:* & jam:*``.

        Words are letters and digits only, so there is nothing to escape.
        """
        return " & ".join(f"{word}:*" for word in self.words)


def _fulltext(vector: str, tsquery: str) -> RawSQL:
    # A boolean expression Django can filter on; the vector text is ours, the query a parameter.
    return RawSQL(f"{vector} @@ to_tsquery('simple'::regconfig, %s)", [tsquery], output_field=BooleanField())


def matching_ids(query: Query, user, *, limit: int = LIMIT) -> list[int]:
    """Ids of the tickets that match, newest first, at most ``limit``."""
    if query.empty:
        return []
    visible = Ticket.objects.visible_to(user)
    found: set[int] = set()
    if query.number is not None and visible.filter(pk=query.number).exists():
        found.add(query.number)
    if query.words and not query.text.startswith("#"):
        if connection.vendor == "postgresql":
            tsquery = query.tsquery()
            by_text = visible.filter(_fulltext(TICKET_VECTOR, tsquery))
            notes = Note.objects.filter(_fulltext(NOTE_VECTOR, tsquery))
        else:
            text_q = Q()
            note_q = Q()
            for word in query.words:
                fields = ("title", "requester_name", "requester_email")
                text_q &= Q.create([(f"{name}__icontains", word) for name in fields], connector=Q.OR)
                note_q &= Q(body__icontains=word)
            by_text = visible.filter(text_q)
            notes = Note.objects.filter(note_q)
        # Newest first, but "pk + 0", not "pk": ordered by the bare key, PostgreSQL
        # walks the primary key backwards and computes to_tsvector for every row
        # until it has `limit` matches (all 100k of them for a rare word, 250 ms
        # in bench/board.py); ordered by an expression it takes the index's
        # matches first and sorts only those.
        newest = (F("pk") + 0).desc()
        found.update(by_text.order_by(newest).values_list("pk", flat=True)[:limit])
        note_ticket_ids = list(notes.order_by(newest).values_list("ticket_id", flat=True)[: limit * 2])
        if note_ticket_ids:
            found.update(visible.filter(pk__in=note_ticket_ids).values_list("pk", flat=True))
        client_q = Q()
        for word in query.words:
            client_q &= Q(name__icontains=word)
        client_ids = list(Client.objects.filter(client_q).values_list("pk", flat=True)[:20])
        if client_ids:
            found.update(visible.filter(client_id__in=client_ids).order_by("-pk").values_list("pk", flat=True)[:limit])
    return sorted(found, reverse=True)[:limit]


def search(query: Query, user, *, limit: int = LIMIT) -> list[Ticket]:
    """The matching tickets, open ones first, then newest first."""
    ids = matching_ids(query, user, limit=limit)
    tickets = (
        Ticket.objects.filter(pk__in=ids).select_related("board", "column", "client", "assignee").defer("description")
    )
    return sorted(tickets, key=lambda t: (not t.is_open, -t.pk))
