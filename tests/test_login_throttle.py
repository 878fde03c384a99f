"""Failed logins are throttled per user and per address; managers lift a lockout in admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from helpdesk.throttle import client_ip
from tests.factories import PASSWORD, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICE = "203.0.113.7"


def _login(client: Client, username: str, password: str, address: str = OFFICE):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_fifty_wrong_passwords_lock_the_user_out_and_the_right_one_then_fails(client, tier1, frozen, settings):
    answers = [_login(client, "tess", f"guess-{n}").status_code for n in range(50)]

    limit = settings.LOGIN_FAILURE_LIMIT
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, "didn't match"
    assert set(answers[limit - 1 :]) == {429}
    response = _login(client, "tess", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_says_when_to_try_again(client, tier1, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        response = _login(client, "tess", f"guess-{n}")

    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.LOGIN_LOCKOUT_MINUTES * 60)
    assert "Too many failed logins" in response.text
    assert 'datetime="2026-03-02T09:15:00+00:00"' in response.text and "09:15 UTC" in response.text
    assert "in about 15 minutes" in response.text
    assert 'class="topbar"' in response.text  # the app's look


def test_tries_during_a_lockout_do_not_move_the_time_it_ends(client, tier1, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "tess", f"guess-{n}")
    frozen.shift(timedelta(minutes=10))
    response = _login(client, "tess", "guess-again")
    assert "09:15 UTC" in response.text and "in about 5 minutes" in response.text


def test_after_the_cool_off_the_right_password_works(client, tier1, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "tess", f"guess-{n}")
    frozen.shift(timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES) - timedelta(seconds=1))
    assert _login(client, "tess", PASSWORD).status_code == 429

    frozen.shift(timedelta(seconds=2))
    response = _login(client, "tess", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_a_lockout_is_per_user_another_person_at_the_same_address_still_logs_in(client, tier1, tier2, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "tess", f"guess-{n}")

    assert _login(Client(), "sam", PASSWORD).status_code == 302


def test_many_usernames_from_one_address_lock_that_address(tier1, frozen, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    sprayer = Client()
    answers = [_login(sprayer, f"user{n}", "Password1").status_code for n in range(8)]
    assert answers == [200] * 7 + [429]

    assert _login(Client(), "tess", PASSWORD).status_code == 429  # same address
    assert _login(Client(), "tess", PASSWORD, address="198.51.100.20").status_code == 302


def test_a_successful_login_clears_the_earlier_failures(client, tier1, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(client, "tess", f"guess-{n}")
    assert _login(client, "tess", PASSWORD).status_code == 302
    Client().post(reverse("logout"))
    assert _login(Client(), "tess", "one-more-typo").status_code == 200


def test_the_test_clients_login_and_force_login_are_not_throttled(client, tier1):
    """Logins from code (no request: client.login, a management command) skip the throttle."""
    assert client.login(username="tess", password=PASSWORD)
    assert not client.login(username="tess", password="wrong")
    client.force_login(tier1)
    assert client.get(reverse("home")).status_code == 200
    assert AccessAttempt.objects.count() == 0


def test_a_manager_sees_and_clears_a_lockout_in_admin(client, tier1, manager, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "tess", f"guess-{n}")
    attempt = AccessAttempt.objects.get(username="tess")

    admin_client = Client()
    admin_client.force_login(manager)
    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "tess" in listing.text and OFFICE in listing.text
    assert admin_client.get(reverse("admin:axes_accessattempt_add")).status_code == 403
    cleared = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert cleared.status_code == 302

    assert _login(client, "tess", PASSWORD).status_code == 302


def test_a_technician_cannot_see_lockouts(client, tier1):
    client.force_login(tier1)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 302  # not staff: to login


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "198.51.100.9", "10.0.0.1", "10.0.0.1"),  # no proxy: the header is the client's own claim
        (1, "198.51.100.9", "10.0.0.1", "198.51.100.9"),
        (1, "6.6.6.6, 198.51.100.9", "10.0.0.1", "198.51.100.9"),  # the left entry was forged
        (2, "198.51.100.9, 10.0.0.2", "10.0.0.1", "198.51.100.9"),
        (1, "", "10.0.0.1", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1", None),
        (0, "", "", None),
        (0, "", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_is_read_behind_the_trusted_proxies_only(settings, proxies, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_a_login_with_a_forged_address_header_is_still_counted(client, tier1, frozen, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "tess", "password": f"guess-{n}"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"not-an-ip-{n}\x00, 198.51.100.9",
        )
    assert _login(client, "tess", PASSWORD).status_code == 429


def test_a_user_made_later_is_not_locked_by_someone_elses_failures(client, db, frozen, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "newbie", f"guess-{n}", address="192.0.2.1")
    make_user("other")
    assert _login(Client(), "other", PASSWORD, address="192.0.2.1").status_code == 302


def test_a_username_too_long_to_be_one_is_a_form_error_not_a_500(client, db):
    response = _login(client, "x" * 100_000, "whatever")
    assert response.status_code == 200
    assert "at most 150 characters" in response.text


def test_an_over_long_username_at_the_admin_login_is_counted_not_a_500(client, db):
    response = client.post(reverse("admin:login"), {"username": "y" * 5000, "password": "x"}, REMOTE_ADDR=OFFICE)
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "y" * 255
