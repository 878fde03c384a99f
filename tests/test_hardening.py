"""Issue 7's findings, each reproduced: no write answered by an error, numbers that are
not ASCII, NUL bytes, the database away, errors shown in place, headers on every page.

Login throttling has its own module (test_login_throttle.py); the fuzz walk of every
URL is test_fuzz.py; the deploy check is test_deploy_check.py.
"""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from boards.forms import ascii_int
from boards.models import Note, Ticket
from routing.models import Move

ON_TRIAGE = {"HX-Request": "true", "HX-Current-URL": "http://testserver/boards/triage/"}
NOT_URLS = ["0", "abc", "ticket", "javascript:alert(1)", "//evil.example/x", "http://[", "https://evil.example/"]


@pytest.fixture
def tess(client, tier1):
    client.force_login(tier1)
    return client


# --- 1. A saved write is never answered with a 500 ------------------------------------


@pytest.mark.parametrize("next_url", NOT_URLS)
def test_quick_add_with_a_next_that_is_not_a_url_saves_once_and_goes_back_to_the_board(tess, desk, next_url):
    response = tess.post(reverse("ticket_create", args=["triage"]), {"title": "Printer jam", "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/boards/triage/"
    assert Ticket.objects.filter(title="Printer jam").count() == 1


@pytest.mark.parametrize("next_url", NOT_URLS)
def test_move_note_update_and_resolve_with_a_bad_next_save_and_redirect(tess, desk, tier1, ticket_factory, next_url):
    ticket = ticket_factory()
    in_progress = desk.triage.columns.get(name="In progress")

    answers = [
        tess.post(reverse("ticket_move", args=[ticket.pk]), {"column": in_progress.pk, "version": 1, "next": next_url}),
        tess.post(reverse("ticket_note", args=[ticket.pk]), {"body": "Called the user.", "next": next_url}),
        tess.post(reverse("ticket_update", args=[ticket.pk]), {"assign_to_me": "on", "version": 2, "next": next_url}),
        tess.post(reverse("ticket_resolve", args=[ticket.pk]), {"version": 2, "next": next_url}),
    ]

    assert [a.status_code for a in answers] == [302, 302, 302, 302]
    assert all(a["Location"].startswith("/") and not a["Location"].startswith("//") for a in answers)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.is_open) == (tier1, False)
    assert Note.objects.filter(ticket=ticket).count() == 1
    assert Move.objects.filter(ticket=ticket).count() == 3  # opened, moved, resolved


def test_a_next_on_this_site_is_still_where_the_form_goes_back_to(tess, desk, ticket_factory):
    ticket = ticket_factory()
    response = tess.post(reverse("ticket_note", args=[ticket.pk]), {"body": "Hi", "next": "/boards/triage/?q=%23²"})
    assert response["Location"] == "/boards/triage/?q=%23%C2%B2"


@pytest.mark.parametrize("revision", ["²", "١", "abc", "-1", "", "9" * 40, "1e3"])
def test_htmx_move_with_a_malformed_board_revision_is_saved_and_answered(tess, desk, ticket_factory, revision):
    ticket = ticket_factory()
    in_progress = desk.triage.columns.get(name="In progress")

    response = tess.post(
        reverse("ticket_move", args=[ticket.pk]),
        {"column": in_progress.pk, "version": ticket.version},
        headers={**ON_TRIAGE, "X-Board-Revision": revision},
    )

    assert response.status_code == 200
    assert "moved to In progress" in response.text
    assert Move.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize(
    "current_url", ["http://[", "http://testserver/boards/%00/", "\x7f", "http://testserver/tickets/²/"]
)
def test_htmx_write_from_a_page_we_cannot_read_is_saved_and_answered(tess, desk, ticket_factory, current_url):
    ticket = ticket_factory()
    response = tess.post(
        reverse("ticket_note", args=[ticket.pk]),
        {"body": "Still saved"},
        headers={"HX-Request": "true", "HX-Current-URL": current_url},
    )
    assert response.status_code == 200
    assert "note added" in response.text
    assert Note.objects.filter(ticket=ticket).count() == 1


def test_an_answer_that_fails_after_saving_reloads_the_page_instead_of_a_500(
    tess, desk, ticket_factory, monkeypatch, caplog
):
    """The safety net: should drawing the answer fail, the saved note is not answered with a 500."""
    import boards.views

    ticket = ticket_factory()

    def broken(*args, **kwargs):
        raise RuntimeError("template bug")

    monkeypatch.setattr(boards.views, "_columns_context", broken)
    response = tess.post(reverse("ticket_note", args=[ticket.pk]), {"body": "Saved anyway"}, headers=ON_TRIAGE)

    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    assert Note.objects.filter(ticket=ticket).count() == 1
    assert "Could not draw the answer" in caplog.text


# --- 2. Digits that are not ASCII --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        *[("42", 42), ("0", 0), ("²", None), ("١٢", None), (" 12", None), ("-1", None), ("", None), (None, None)],
        *[(str(2**63 - 1), 2**63 - 1), (str(2**63), None)],
    ],
)
def test_ascii_int_reads_only_plain_whole_numbers(text, number):
    assert ascii_int(text) == number


@pytest.mark.parametrize("query", ["²", "#²", "١٢", "#99999999999999999999", "#" + "9" * 19])
def test_board_search_for_a_number_that_is_not_a_ticket_number_answers(tess, desk, ticket_factory, query):
    ticket_factory(title="Printer jam")
    page = tess.get(reverse("board", args=["triage"]), {"q": query})
    poll = tess.get(reverse("board_changes", args=["triage"]), {"q": query, "since": "-1"}, headers=ON_TRIAGE)

    assert page.status_code == 200 and poll.status_code == 200
    assert "Printer jam" not in page.text


def test_board_search_by_ticket_number_still_finds_it(tess, desk, ticket_factory):
    ticket = ticket_factory(title="Printer jam")
    assert "Printer jam" in tess.get(reverse("board", args=["triage"]), {"q": f"#{ticket.pk}"}).text


@pytest.mark.parametrize("direction", ["escalate", "de-escalate"])
def test_dialog_with_a_version_that_is_not_a_number_shows_the_form_again(tess, desk, ticket_factory, direction):
    ticket = ticket_factory()
    url = reverse("ticket_criteria", args=[ticket.pk, direction])

    assert tess.get(url, {"version": "²"}).status_code == 200
    response = tess.post(url, {"version": "²", "criterion": "1"})

    assert response.status_code == 400
    assert Move.objects.filter(ticket=ticket).count() == 1


# --- 3. NUL bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["\x00", "a\x00b"])
def test_nul_in_the_board_slug_is_a_bad_request(tess, desk, ticket_factory, to):
    ticket = ticket_factory()
    url = reverse("ticket_criteria", args=[ticket.pk, "escalate"])

    assert tess.get(url, {"to": to}).status_code == 400
    assert tess.post(url, {"to": to, "version": ticket.version}).status_code == 400


def test_a_board_slug_that_cannot_be_one_is_400_and_one_that_does_not_exist_is_404(tess, desk, ticket_factory):
    url = reverse("ticket_criteria", args=[ticket_factory().pk, "escalate"])
    assert tess.get(url, {"to": "no such/board"}).status_code == 400
    assert tess.get(url, {"to": "atlantis"}).status_code == 404


def test_nul_anywhere_in_a_request_is_refused_before_it_reaches_the_database(tess, desk, ticket_factory):
    ticket = ticket_factory()
    assert tess.get(reverse("board", args=["triage"]), {"q": "a\x00"}).status_code == 400
    assert tess.post(reverse("ticket_note", args=[ticket.pk]), {"body": "x\x00y"}).status_code == 400
    assert Note.objects.count() == 0


def test_nul_in_an_admin_search_is_a_bad_request(client, manager):
    client.force_login(manager)
    assert client.get(reverse("admin:boards_ticket_changelist"), {"q": "\x00"}).status_code == 400


# --- 6. The database briefly away -------------------------------------------------------------


def _refuse_every_query(execute, sql, params, many, context):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def test_database_down_while_reading_the_session_answers_503(desk, tier1):
    client = Client(raise_request_exception=False)  # the error is raised in middleware, then handled
    client.force_login(tier1)
    with connection.execute_wrapper(_refuse_every_query):
        response = client.get(reverse("board", args=["triage"]))

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Switchback is briefly unavailable" in response.text
    assert 'href="/boards/triage/"' in response.text  # try again


def _refuse_board_queries(execute, sql, params, many, context):
    if "boards_" in sql:  # the session and user load; the view's own queries fail
        _refuse_every_query(execute, sql, params, many, context)
    return execute(sql, params, many, context)


def test_database_down_inside_a_view_answers_503_and_htmx_shows_it_in_place(tess, desk):
    with connection.execute_wrapper(_refuse_board_queries):
        page = tess.get(reverse("board", args=["triage"]))
        poll = tess.get(reverse("board_changes", args=["triage"]), {"since": "0"}, headers=ON_TRIAGE)

    assert page.status_code == 503 and "Switchback is briefly unavailable" in page.text
    assert poll.status_code == 503
    assert poll["X-Switchback-Error"] == "inline" and poll["HX-Retarget"] == "#messages"
    assert "reach its database just now" in poll.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refusing_connections_answers_503_then_recovers(desk, tier1):
    """A real outage: the connection is closed and PostgreSQL is looked for on a port where nothing listens."""
    client = Client(raise_request_exception=False)
    client.force_login(tier1)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get(reverse("board", args=["triage"]))
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert client.get(reverse("board", args=["triage"])).status_code == 200


# --- Error pages and errors in place ---------------------------------------------------------


def test_404_page_looks_like_the_app_and_offers_a_way_back(tess, desk):
    response = tess.get("/boards/atlantis/", headers={"Referer": "http://testserver/boards/triage/"})

    assert response.status_code == 404
    assert "switchback/app.css" in response.text and 'class="topbar"' in response.text
    assert "Nothing here" in response.text
    assert 'href="http://testserver/boards/triage/"' in response.text and "Go to My work" in response.text
    assert "No Board matches" not in response.text


def test_403_page_says_why(client, desk, tier1, ticket_factory):
    other = ticket_factory(board=desk.support)
    client.force_login(tier1)
    response = client.post(reverse("ticket_note", args=[other.pk]), {"body": "x"})
    assert response.status_code == 403
    assert f"{other.number} is on the Support board, which you do not work." in response.text
    assert "Go to My work" in response.text


def test_htmx_403_shows_the_reason_in_the_message_bar(client, desk, tier1, ticket_factory):
    other = ticket_factory(board=desk.support)
    client.force_login(tier1)
    response = client.post(reverse("ticket_note", args=[other.pk]), {"body": "x"}, headers=ON_TRIAGE)

    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages" and response["HX-Reswap"] == "innerHTML"
    assert response.text.startswith('<p class="message error" role="alert">')
    assert "is on the Support board" in response.text and "<html" not in response.text


def test_drawer_of_a_ticket_that_left_the_board_shows_a_message_in_the_drawer(tess, desk, ticket_factory):
    gone = ticket_factory(board=desk.support)
    response = tess.get(reverse("ticket", args=[gone.pk]), headers={**ON_TRIAGE, "HX-Target": "drawer"})

    assert response.status_code == 404
    assert response["X-Switchback-Error"] == "inline" and "HX-Retarget" not in response
    assert 'class="drawer-body error-inline"' in response.text and "data-drawer-close" in response.text
    assert "No ticket with that number on your boards." in response.text


def test_500_page_looks_like_the_app(desk, tier1, monkeypatch):
    import boards.views

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(boards.views, "_board_columns", broken)
    client = Client(raise_request_exception=False)
    client.force_login(tier1)
    response = client.get(reverse("board", args=["triage"]))

    assert response.status_code == 500
    assert "Something went wrong" in response.text and 'class="topbar"' in response.text
    assert "Try again" in response.text


def test_a_form_without_its_csrf_token_gets_a_page_that_says_reload(desk, tier1, ticket_factory):
    ticket = ticket_factory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(tier1)
    response = client.post(reverse("ticket_note", args=[ticket.pk]), {"body": "x"})

    assert response.status_code == 403
    assert "Please reload the page" in response.text
    assert Note.objects.count() == 0


# --- 5. Headers on every page ----------------------------------------------------------------------


def test_signed_in_pages_are_private_and_never_stored(tess, desk, ticket_factory):
    ticket = ticket_factory()
    for url in (reverse("home"), reverse("board", args=["triage"]), reverse("ticket", args=[ticket.pk])):
        cache_control = {part.strip() for part in tess.get(url)["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, url


def test_every_page_carries_a_content_security_policy_without_inline_script(tess, desk):
    policy = tess.get(reverse("board", args=["triage"]))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "Content-Security-Policy" in Client().get(reverse("login"))


def test_htmx_is_told_not_to_eval_or_inject_styles(tess, desk):
    page = tess.get(reverse("board", args=["triage"])).text
    assert '"allowEval": false' in page and '"includeIndicatorStyles": false' in page
    assert page.index('name="htmx-config"') < page.index("htmx-2")
    # No inline script for the policy to allow: every <script> has a src, no on…= handlers.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert not re.search(r"\son[a-z]+\s*=", page)


def test_required_skills_that_cannot_be_ids_are_a_form_error(tess, desk, ticket_factory):
    ticket = ticket_factory()
    for value in ("9" * 30, "²", "abc"):
        response = tess.post(reverse("ticket_update", args=[ticket.pk]), {"required_skills": value, "version": 1})
        assert response.status_code == 302
    assert not ticket.required_skills.exists()
