"""Every URL in the resolver, fed bad input, as a technician and anonymously.

Two promises, for every request:

1. Nothing answers 500 (nor any 5xx): input that can't be understood is a 400
   or a form error, a ticket or board that isn't there is a 404.
2. Tickets, moves and notes change only when the answer says something was
   saved: a status below 400 and a success message.

The bad inputs: empty, 100,000 characters, NUL, invalid UTF-8, digits that
are not ASCII, markup, numbers too big for the database; wrong methods,
missing CSRF, other boards' tickets, columns and criteria, ids that don't
exist; malformed htmx headers. The URL list comes from the resolver, so a view
added later is fuzzed without touching this file. Admin (Django's own) is
left out; the NUL search there is in test_hardening.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.contrib.messages import constants as message_levels
from django.test import Client
from django.urls import URLPattern, reverse

from boards.models import Note, Ticket
from routing.models import Criterion, Move
from tests.factories import make_ticket, make_user
from tests.test_auth import _named_patterns

ROUTES = _named_patterns()
BIG = "x" * 100_000
MARKUP = '<script>alert("fuzz")</script>'
# Every value goes into every field at once.
BAD = ["", BIG, "\x00", "a\x00b", "²", "#²", "١٢", MARKUP, "0", "abc", "-1", "9" * 30, "\ufffd", " "]
# Each of these replaces one field of an otherwise valid form.
BAD_ONE = ["", BIG, "²", "abc", "-1", "9" * 30, MARKUP]
# The fields any view (or the login page, or the flow pages) reads.
FIELDS = [
    "next", "q", "to", "version", "column", "criterion", "note", "body", "title", "priority", "client",
    "requester_name", "requester_email", "description", "tier", "assignee", "assign_to_me", "needs_onsite",
    "required_skills", "internal", "minutes_worked", "facts", "since", "page", "mine", "unassigned",
    "username", "password", "range", "start", "end", "board", "stale", "direction", "kind", "limit", "minutes",
]  # fmt: skip
HTMX_HEADERS = [
    {"HX-Current-URL": "http://["},
    {"HX-Current-URL": "http://testserver/boards/%00/"},
    {"HX-Current-URL": "javascript:alert(1)"},
    {"HX-Current-URL": "http://testserver/tickets/99999999999999999999999/"},
    {"HX-Current-URL": "http://testserver/boards/triage/?q=%C2%B2&priority=%00"},
    {"HX-Current-URL": "http://testserver/boards/support/"},
    {"X-Board-Revision": "²"},
    {"X-Board-Revision": "-1"},
    {"X-Board-Revision": "9" * 1000},
    {"X-Drawer-Ticket": "²"},
    {"X-Drawer-Ticket": "99999999999999999999"},
    {"HX-Target": "drawer"},
    {"HX-Target": BIG[:4000]},
    {"HX-Current-URL-URI-AutoEncoded": "true", "HX-Current-URL": "%E0%A4%A"},
]
ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}


@dataclass
class Fuzz:
    """The desk being fuzzed: a technician on Triage, and tickets on both sides of the line."""

    desk: object
    tech: object
    stranger_user: object
    other_ticket: Ticket
    support_column: int
    foreign_criterion: int
    _mine: Ticket | None = None
    saved: list[int] = field(default_factory=list)

    def mine(self) -> Ticket:
        """An open ticket on Triage for the technician; a new one once a request moved or closed it."""
        if self._mine is not None:
            self._mine.refresh_from_db()
        if self._mine is None or self._mine.board_id != self.desk.triage.pk or not self._mine.is_open:
            self._mine = make_ticket(board=self.desk.triage, title="Fuzz target", assignee=self.tech)
        return self._mine

    def valid_form(self) -> dict[str, str]:
        ticket = self.mine()
        escalation = Criterion.objects.filter(name="Beyond this tier").values_list("pk", flat=True).first()
        return {
            "column": str(self.desk.triage.columns.get(name="In progress").pk),
            "version": str(ticket.version),
            "criterion": str(escalation or ""),
            "note": "Fuzz note",
            "body": "Fuzz note",
            "internal": "on",
            "minutes_worked": "5",
            "title": "Fuzz ticket",
            "priority": "3",
            "assign_to_me": "on",
            "next": "/boards/triage/",
            "since": "0",
            "username": "tess",
            "password": "not-the-password",
        }

    def foreign_forms(self) -> list[dict[str, str]]:
        """Valid forms carrying another board's ids, or ids that don't exist."""
        base = self.valid_form()
        return [
            {**base, "column": str(self.support_column)},
            {**base, "criterion": str(self.foreign_criterion)},
            {**base, "assignee": str(self.stranger_user.pk)},
            {**base, "assignee": "999999999", "required_skills": "999999999", "client": "999999999"},
            {**base, "to": "support"},
            {**base, "to": "atlantis"},
            {**base, "version": str(int(base["version"]) + 7)},
        ]

    def kwargs_variants(self, pattern: URLPattern) -> list[dict]:
        """The URL's arguments: valid, another board's, missing, and too big for the database."""
        names = set(pattern.pattern.converters)
        variants = []
        for pk, slug in [
            (self.mine().pk, "triage"),
            (self.other_ticket.pk, "support"),
            (999_999_999, "atlantis"),
            (10**30, "x" * 300),
        ]:
            values = {"pk": pk, "slug": slug, "direction": "escalate", "kind": slug, "name": slug}
            variants.append({name: values.get(name, slug) for name in names})
        return variants


@pytest.fixture
def fuzz(desk) -> Fuzz:
    tech = make_user("tess", tier=1, boards=[desk.triage])
    stranger = make_user("sam", tier=2, boards=[desk.support])
    support_only = Criterion.objects.filter(from_board=desk.support).values_list("pk", flat=True).first()
    return Fuzz(
        desk=desk,
        tech=tech,
        stranger_user=stranger,
        other_ticket=make_ticket(board=desk.support, title="Someone else's"),
        support_column=desk.support.columns.order_by("position").first().pk,
        foreign_criterion=support_only,
    )


@pytest.fixture
def success_messages(monkeypatch) -> list[int]:
    """Records the level of every message a view adds; the test clears it before each request."""
    from django.contrib.messages import api

    levels: list[int] = []
    original = api.add_message

    def spy(request, level, message, *args, **kwargs):
        levels.append(level)
        return original(request, level, message, *args, **kwargs)

    monkeypatch.setattr(api, "add_message", spy)
    return levels


@dataclass
class Call:
    method: str
    kwargs: dict
    data: dict | bytes | None = None
    headers: dict = field(default_factory=dict)
    query: str = ""

    def describe(self) -> str:
        data = self.data
        if isinstance(data, dict):
            data = {k: (v[:20] + f"…({len(v)})" if len(v) > 20 else v) for k, v in data.items()}
        return f"{self.method} kwargs={self.kwargs} query={self.query[:40]!r} data={data!r} headers={self.headers}"


def _calls(fuzz: Fuzz, pattern: URLPattern) -> Iterator[Call]:
    variants = fuzz.kwargs_variants(pattern)
    valid_kwargs = variants[0]
    for kwargs in variants:
        for method in ("get", "post"):
            yield Call(method, kwargs, fuzz.valid_form() if method == "post" else None)
            yield Call(method, kwargs, fuzz.valid_form() if method == "post" else None, headers=ON_TRIAGE)
    for value in BAD:
        everything = dict.fromkeys(FIELDS, value)
        yield Call("get", valid_kwargs, everything)
        yield Call("post", valid_kwargs, everything)
        yield Call("post", valid_kwargs, everything, headers=ON_TRIAGE)
    for name in fuzz.valid_form():
        for value in BAD_ONE:
            yield Call("post", valid_kwargs, {**fuzz.valid_form(), name: value})
    for form in fuzz.foreign_forms():
        yield Call("post", valid_kwargs, form)
        yield Call("post", valid_kwargs, form, headers=ON_TRIAGE)
    for headers in HTMX_HEADERS:
        yield Call("get", valid_kwargs, None, headers={**ON_TRIAGE, **headers})
        yield Call("post", valid_kwargs, fuzz.valid_form(), headers={**ON_TRIAGE, **headers})
    # Invalid UTF-8, in the query string and in the body.
    yield Call("get", valid_kwargs, query="q=%FF%FE&next=%C3%28&version=%80")
    yield Call("post", valid_kwargs, b"title=\xff\xfe&body=\xc3\x28&version=\x80&next=%FF&column=1")
    for method in ("put", "patch", "delete", "options", "head"):
        yield Call(method, valid_kwargs, fuzz.valid_form() if method != "head" else None)


def _send(client: Client, name: str, call: Call):
    url = reverse(name, kwargs=call.kwargs)
    if call.query:
        url += "?" + call.query
    send = getattr(client, call.method)
    if isinstance(call.data, bytes):
        return send(url, call.data, content_type="application/x-www-form-urlencoded", headers=call.headers)
    if call.method in ("get", "head", "options") or call.data is None:
        return (
            send(url, call.data or {}, headers=call.headers)
            if call.method == "get"
            else send(url, headers=call.headers)
        )
    if call.method == "post":
        return send(url, call.data, headers=call.headers)
    return send(url, "&".join(f"{k}={v}" for k, v in call.data.items()), headers=call.headers)


def _counts() -> tuple[int, int, int]:
    return Ticket.objects.count(), Move.objects.count(), Note.objects.count()


def _check(client: Client, name: str, call: Call, levels: list[int], *, who: str) -> None:
    levels.clear()
    before = _counts()
    response = _send(client, name, call)
    said_saved = response.status_code < 400 and message_levels.SUCCESS in levels
    if response.get("Content-Type", "").startswith("application/json"):
        # The REST API says "saved" with its status: 201 Created, or 200 for a change.
        said_saved = 200 <= response.status_code < 300
    where = f"{who}: {name} {call.describe()}"
    assert response.status_code < 500, f"{response.status_code} for {where}"
    if _counts() != before:
        assert said_saved, f"saved without saying so ({response.status_code}) for {where}"
    if response.get("Content-Type", "").startswith("text/html"):
        body = response.content.decode(errors="replace")
        assert MARKUP not in body, f"markup echoed unescaped for {where}"


@pytest.mark.parametrize(("name", "pattern"), ROUTES, ids=[name for name, _ in ROUTES])
def test_bad_input_never_answers_500_nor_saves_without_saying_so(fuzz, success_messages, caplog, name, pattern):
    technician = Client(raise_request_exception=False)
    anonymous = Client(raise_request_exception=False)
    no_csrf = Client(enforce_csrf_checks=True, raise_request_exception=False)
    no_csrf.force_login(fuzz.tech)
    calls = list(_calls(fuzz, pattern))

    with caplog.at_level(logging.ERROR):
        for call in calls:
            if "_auth_user_id" not in technician.session:  # logout was fuzzed too
                technician.force_login(fuzz.tech)
            _check(technician, name, call, success_messages, who="technician")
        for call in calls[::3]:
            _check(anonymous, name, call, success_messages, who="anonymous")
        # Refused before any view runs, so a sample of the posts is enough.
        for call in [c for c in calls if c.method == "post" and isinstance(c.data, dict)][::4]:
            _check(no_csrf, name, call, success_messages, who="no CSRF token")

    # The views' safety net (an answer that failed after saving) must never have been needed.
    assert "Could not draw the answer" not in caplog.text
