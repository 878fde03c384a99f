"""Who is calling: tokens (personal, service, read or write), the browser's session with CSRF, nobody."""

from __future__ import annotations

import hashlib

import time_machine
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from boards.models import Note, Ticket
from tests.api.conftest import Api, make_token, problem
from tests.factories import make_user

NOW = "2026-11-29 10:00:00+00:00"


def test_anonymous_call_is_401_with_a_bearer_challenge(db):
    response = Api().get(reverse("api:tickets"))
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_malformed_and_revoked_tokens_are_401(tier1):
    text = make_token(tier1)
    for bad in ["sb_nope", "sb_12345678_wrong", text + "x", "Zm9v", "sb_" + "a" * 8 + "_" + "b" * 40]:
        problem(Api(bad).get(reverse("api:boards")), 401, "invalid_token")
    problem(Api().get(reverse("api:boards"), headers={"Authorization": "Bearer a b"}), 401, "invalid_token")
    ApiToken.objects.get().revoke()
    problem(Api(text).get(reverse("api:boards")), 401, "invalid_token")


def test_a_deactivated_account_s_token_stops_working(tier1):
    text = make_token(tier1)
    tier1.is_active = False
    tier1.save()
    problem(Api(text).get(reverse("api:boards")), 401, "invalid_token")


def test_tokens_are_stored_hashed_with_a_visible_prefix(tier1):
    text = make_token(tier1)
    token = ApiToken.objects.get()
    assert text.startswith(f"sb_{token.prefix}_")
    assert token.key_hash == hashlib.sha256(text.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.values_list().get())
    assert text not in stored and text.split("_")[2] not in stored


def test_a_read_token_reads_but_may_not_write(desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Mine to read")
    api = Api(make_token(tier1, scope=ApiToken.Scope.READ))
    assert api.get(reverse("api:ticket", args=[ticket.pk])).status_code == 200
    before = (Ticket.objects.count(), Note.objects.count())
    problem(api.post(reverse("api:tickets"), {"board": "triage", "title": "No"}), 403, "insufficient_scope")
    problem(api.post(reverse("api:ticket_notes", args=[ticket.pk]), {"body": "No"}), 403, "insufficient_scope")
    problem(
        api.patch(reverse("api:ticket", args=[ticket.pk]), {"tier": 2}, headers={"If-Match": '"1"'}),
        403,
        "insufficient_scope",
    )
    assert (Ticket.objects.count(), Note.objects.count()) == before


def test_a_write_token_writes(desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Mine to note")
    api = Api(make_token(tier1, scope=ApiToken.Scope.WRITE))
    response = api.post(reverse("api:ticket_notes", args=[ticket.pk]), {"body": "Rebooted the switch"})
    assert response.status_code == 201
    assert Note.objects.get().author == tier1


def test_last_used_is_recorded(tier1):
    text = make_token(tier1)
    with time_machine.travel(NOW, tick=False):
        Api(text).get(reverse("api:boards"))
    assert ApiToken.objects.get().last_used_at.isoformat() == "2026-11-29T10:00:00+00:00"


def test_the_browser_session_works_and_its_writes_need_the_csrf_token(desk, tier1, ticket_factory):
    ticket = ticket_factory(title="Browser call")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tier1)
    assert browser.get(reverse("api:ticket", args=[ticket.pk])).status_code == 200
    url = reverse("api:ticket_notes", args=[ticket.pk])
    refused = browser.post(url, {"body": "no token"}, content_type="application/json")
    problem(refused, 403, "csrf_failed")
    assert not Note.objects.exists()

    browser.get(reverse("profile"))  # sets the CSRF cookie, as any page does
    csrf = browser.cookies["csrftoken"].value
    saved = browser.post(url, {"body": "with token"}, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert saved.status_code == 201
    assert Note.objects.get().body == "with token"


# --- The profile page ------------------------------------------------------------


def test_the_profile_page_is_linked_from_the_top_bar(client, tier1):
    client.force_login(tier1)
    page = client.get(reverse("home")).text
    assert f'href="{reverse("profile")}"' in page


def test_a_personal_token_is_shown_once_and_works(client, tier1):
    client.force_login(tier1)
    response = client.post(reverse("profile_token_create"), {"name": "Backup <script>", "scope": "read"})
    assert response.status_code == 201
    token = ApiToken.objects.get()
    assert (token.user, token.kind, token.scope) == (tier1, "personal", "read")
    text = response.text.split('<code class="token-text">')[1].split("</code>")[0]
    assert Api(text).get(reverse("api:boards")).status_code == 200
    assert "Backup &lt;script&gt;" in response.text and "<script>" not in response.text.split("</head>")[1]

    again = client.get(reverse("profile")).text
    assert text not in again and f"sb_{token.prefix}_…" in again


def test_a_token_form_with_no_name_is_refused(client, tier1):
    client.force_login(tier1)
    response = client.post(reverse("profile_token_create"), {"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_a_token_on_the_profile_page(client, tier1):
    text = make_token(tier1)
    client.force_login(tier1)
    response = client.post(reverse("profile_token_revoke", args=[ApiToken.objects.get().pk]))
    assert response.status_code == 302
    problem(Api(text).get(reverse("api:boards")), 401, "invalid_token")


def test_nobody_revokes_someone_else_s_token(client, tier1, tier2):
    make_token(tier2)
    client.force_login(tier1)
    assert client.post(reverse("profile_token_revoke", args=[ApiToken.objects.get().pk])).status_code == 404
    assert ApiToken.objects.get().is_live


def test_token_forms_need_the_csrf_token(tier1):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tier1)
    assert browser.post(reverse("profile_token_create"), {"name": "x", "scope": "read"}).status_code == 403
    assert not ApiToken.objects.exists()


# --- Service tokens in admin ---------------------------------------------------------


def test_a_manager_makes_a_service_token_in_admin_shown_once(client, desk, manager):
    bot = make_user("grafana-bot", boards=[desk.noc])
    client.force_login(manager)
    response = client.post(
        reverse("admin:api_apitoken_add"), {"user": bot.pk, "name": "Grafana", "scope": "write"}, follow=False
    )
    assert response.status_code == 200, response.content[:300]
    token = ApiToken.objects.get()
    assert (token.user, token.kind, token.created_by) == (bot, "service", manager)
    text = response.text.split('<code style="font-size:1.1em">')[1].split("</code>")[0]
    assert Api(text).post(reverse("api:tickets"), {"board": "noc", "title": "Disk full"}).status_code == 201
    assert text not in client.get(reverse("admin:api_apitoken_changelist")).text


def test_a_technician_never_reaches_the_service_tokens(client, tier1):
    client.force_login(tier1)
    assert client.get(reverse("admin:api_apitoken_changelist")).status_code == 302  # admin's login
