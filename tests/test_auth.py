"""Login is required everywhere but the login page.

The URL patterns are enumerated from the resolver, so a view added later is
covered without touching this file.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter

# Views that must answer a stranger: the login page itself, the intake
# endpoints monitoring posts to (they check the alert source's token instead),
# and the requester's request form and status page (opened by its signed link).
PUBLIC = {
    "login",
    "intake_alertmanager",
    "intake_events",
    "request_form",
    "request_sent",
    "request_status",
    "request_reply",
    "request_solved",
}
# Namespaces with their own login (admin sends strangers to the same login flow).
SKIPPED_NAMESPACES = {"admin"}

# Plausible values for URL keyword arguments, by name first, then by converter.
BY_NAME = {"slug": "triage", "board": "triage", "direction": "escalate", "pk": 1, "ticket": 1, "column": 1}
BY_CONVERTER = {
    IntConverter: 1,
    SlugConverter: "triage",
    StringConverter: "escalate",
    PathConverter: "x",
    UUIDConverter: "00000000-0000-0000-0000-000000000000",
}


def _named_patterns(patterns=None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _named_patterns(entry.url_patterns, prefix)
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def _kwargs(pattern: URLPattern) -> dict:
    converters = pattern.pattern.converters
    return {name: BY_NAME.get(name, BY_CONVERTER.get(type(converter), "x")) for name, converter in converters.items()}


PRIVATE = [(name, pattern) for name, pattern in _named_patterns() if name not in PUBLIC]


def test_the_app_has_private_pages():
    names = {name for name, _ in PRIVATE}
    assert {"home", "board", "ticket"} <= names


# The REST API's endpoints are for programs: a stranger gets a 401 problem, not
# the login page. The API's docs page is for people and logs in like any page.
API_NAMESPACE = "api:"
API_PAGES = {"api:docs"}


def _is_api_endpoint(name: str) -> bool:
    return name.startswith(API_NAMESPACE) and name not in API_PAGES


@pytest.mark.parametrize(("name", "pattern"), PRIVATE, ids=[name for name, _ in PRIVATE])
def test_anonymous_visitor_is_sent_to_login(client, desk, name, pattern):
    url = reverse(name, kwargs=_kwargs(pattern))
    for method in (client.get, client.post):
        response = method(url)
        if _is_api_endpoint(name):
            assert response.status_code == 401, (name, method.__name__)
            assert response["Content-Type"] == "application/problem+json", name
            assert response.json()["code"] == "not_authenticated", name
            assert response["WWW-Authenticate"].startswith("Bearer"), name
            continue
        assert response.status_code == 302, (name, method.__name__)
        assert response.url.startswith(reverse("login") + "?next="), (name, response.url)


def test_the_api_is_walked_too():
    names = {name for name, _ in PRIVATE}
    assert {"api:tickets", "api:ticket", "api:ticket_moves", "api:schema", "api:docs", "profile"} <= names


def test_anonymous_admin_is_sent_to_a_login(client, db):
    response = client.get(reverse("admin:boards_ticket_changelist"))
    assert response.status_code == 302
    assert "login" in response.url


def test_login_page_answers(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="password"' in response.text


def test_logging_in_reaches_home(client, tier1):
    from tests.factories import PASSWORD

    response = client.post(reverse("login"), {"username": "tess", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
