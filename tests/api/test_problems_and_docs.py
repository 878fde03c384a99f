"""Bad input gets an RFC 9457 problem with a stable code, never a 5xx; the schema and the docs page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.problems import PROBLEMS
from boards.models import Ticket
from tests.api.conftest import problem


def test_malformed_json_is_400(desk, tier1, tess_api):
    problem(tess_api.post(reverse("api:tickets"), b'{"board": "triage", "title": '), 400, "malformed")
    problem(tess_api.post(reverse("api:tickets"), b"\xff\xfe"), 400, "malformed")


def test_a_form_post_is_415(desk, tier1, tess_api):
    response = tess_api.post(
        reverse("api:tickets"), "board=triage&title=x", content_type="application/x-www-form-urlencoded"
    )
    problem(response, 415, "unsupported_media_type")
    assert not Ticket.objects.exists()


def test_a_wrong_method_is_405(tier1, tess_api):
    problem(tess_api.client.delete(reverse("api:tickets"), headers=tess_api.headers), 405, "method_not_allowed")


def test_an_unknown_api_url_is_a_404_problem(tier1, tess_api):
    body = problem(tess_api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert "tried" not in body["detail"]


def test_nul_in_the_query_is_a_400_problem(tier1, tess_api):
    problem(tess_api.get(reverse("api:tickets") + "?board=a%00b"), 400, "malformed")


def test_a_bug_is_a_500_problem_not_a_page(tier1, tess_api, monkeypatch):
    import api.views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.views.s, "BoardSerializer", broken)
    problem(tess_api.get(reverse("api:boards")), 500, "server_error")


def test_every_problem_code_has_a_distinct_anchor_on_the_docs_page(client, tier1):
    client.force_login(tier1)
    page = client.get(reverse("api:docs")).text
    for code in PROBLEMS:
        assert f'id="problem-{code}"' in page


def test_the_docs_page_lists_every_endpoint_and_needs_no_script(client, tier1):
    client.force_login(tier1)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    body = response.text.split("</head>")[1]
    assert "<script" not in body
    for path in ["/api/v1/tickets/", "/api/v1/tickets/{id}/moves/", "/api/v1/boards/"]:
        assert f"<code>{path}</code>" in body
    assert "If-Match" in body


def test_the_docs_page_sends_strangers_to_login(client, db):
    assert client.get(reverse("api:docs")).status_code == 302


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_the_schema_is_served_to_a_caller(tier1, tess_api, fmt):
    response = tess_api.get(reverse("api:schema"), {"format": fmt})
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/tickets/{id}/moves/" in text and "bearerToken" in text


def test_boards_columns_criteria_and_technicians(desk, tier1, tier2, tess_api):
    boards = tess_api.get(reverse("api:boards")).json()
    assert {b["slug"]: b["works"] for b in boards} == {"noc": False, "triage": True, "support": False}
    assert all(b["columns"] for b in boards)
    columns = tess_api.get(reverse("api:columns"), {"board": "triage"}).json()
    assert {c["board"] for c in columns} == {"triage"}
    problem(tess_api.get(reverse("api:columns"), {"board": "a b"}), 400, "invalid")
    criteria = tess_api.get(reverse("api:criteria")).json()
    assert {"Needs onsite visit", "Tier 1 time limit"} <= {c["name"] for c in criteria}
    technicians = tess_api.get(reverse("api:technicians")).json()
    assert {(t["username"], t["tier"]) for t in technicians} == {("tess", 1), ("sam", 2)}
