"""The API's casts: tokens of each scope, and a client that speaks JSON with one."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from api.models import ApiToken


def make_token(user, *, scope: str = ApiToken.Scope.WRITE, kind: str = ApiToken.Kind.PERSONAL, name: str = "") -> str:
    token = ApiToken(user=user, created_by=user, scope=scope, kind=kind, name=name or f"{user.username} {scope}")
    text = token.issue()
    token.save()
    return text


class Api:
    """A JSON client with a bearer token (or none)."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.client = client or Client(raise_request_exception=False)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, url: str, data=None, headers=None, **kwargs):
        headers = {**self.headers, **(headers or {})}
        send = getattr(self.client, method)
        if method == "get":
            return send(url, data or {}, headers=headers, **kwargs)
        body = data if isinstance(data, (bytes, str)) else json.dumps(data if data is not None else {})
        return send(url, body, content_type=kwargs.pop("content_type", "application/json"), headers=headers, **kwargs)

    def get(self, url, data=None, **kw):
        return self._send("get", url, data, **kw)

    def post(self, url, data=None, **kw):
        return self._send("post", url, data, **kw)

    def patch(self, url, data=None, **kw):
        return self._send("patch", url, data, **kw)


def problem(response, status: int, code: str) -> dict:
    """Assert the answer is the RFC 9457 problem ``code`` with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"/api/docs/#problem-{code}" and body["title"] and body["detail"]
    return body


@pytest.fixture
def tess_api(tier1):
    return Api(make_token(tier1))


@pytest.fixture
def sam_api(tier2):
    return Api(make_token(tier2))


@pytest.fixture
def morgan_api(manager):
    return Api(make_token(manager))


@pytest.fixture
def both_users(desk):
    """Alex, tier 2, works Triage and Support."""
    from tests.factories import make_user

    return make_user("alex", tier=2, boards=[desk.triage, desk.support], first_name="Alex", last_name="Both")
