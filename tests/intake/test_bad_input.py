"""Every refusal of the intake endpoints: JSON saying what is wrong, and nothing written."""

from __future__ import annotations

import json

import pytest

from boards.models import Note, Ticket
from intake.views import MAX_BODY
from routing.models import Move
from tests.intake.conftest import TOKEN, am_alert, am_payload, post_alerts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nothing_written():
    yield
    assert (Ticket.objects.count(), Move.objects.count(), Note.objects.count()) == (0, 0, 0)


def test_an_unknown_source_is_404_in_json(client, source):
    response = client.post(
        "/intake/no-such-source/alertmanager/",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert response.status_code == 404
    assert response.json() == {"status": "error", "error": "No alert source with this URL."}


@pytest.mark.parametrize("header", ["Bearer wrong-token", "", "Basic dXNlcjpwYXNz", f"Token {TOKEN}", "Bearer"])
def test_a_wrong_or_missing_token_is_401_with_a_bearer_challenge(client, source, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(
        source.alertmanager_path(), json.dumps(am_payload(am_alert())), content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "token" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[]", "JSON object"),
        (json.dumps({**am_payload(am_alert()), "version": "3"}), '"version" must be "4"'),
        (json.dumps({"version": "4"}), '"alerts" must be a list'),
        (json.dumps(am_payload("nope")), "alerts[0] must be an object"),
        (
            json.dumps(am_payload({**am_alert(), "status": "burning"})),
            'alerts[0].status must be "firing" or "resolved"',
        ),
        (json.dumps(am_payload({**am_alert(), "fingerprint": ""})), "alerts[0].fingerprint must be a non-empty string"),
        (json.dumps(am_payload(am_alert(), {**am_alert(), "labels": {"a": 1}})), "alerts[1].labels.a must be a string"),
        (json.dumps(am_payload({**am_alert(), "labels": ["x"]})), "alerts[0].labels must be an object"),
        (json.dumps(am_payload({**am_alert(), "startsAt": "yesterday"})), "alerts[0].startsAt must be an RFC 3339"),
        (
            json.dumps(am_payload({**am_alert(), "endsAt": "2026-03-02T03:00:00"})),
            "alerts[0].endsAt must be an RFC 3339",
        ),
    ],
)
def test_a_malformed_payload_is_400_saying_what_is_wrong(client, source, body, says):
    response = post_alerts(client, source, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["error"]


def test_one_bad_alert_refuses_the_whole_delivery(client, source):
    """Checked before anything is written: the good alert before the bad one opens nothing either."""
    response = post_alerts(client, source, am_payload(am_alert("good"), {**am_alert("bad"), "status": "?"}))

    assert response.status_code == 400
    assert "alerts[1].status" in response.json()["error"]


def test_a_payload_over_1_mb_is_413(client, source):
    padding = "x" * MAX_BODY
    response = post_alerts(client, source, am_payload(am_alert(annotations={"description": padding})))

    assert response.status_code == 413
    assert "over 1048576 bytes" in response.json()["error"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_answered(client, source, method):
    assert getattr(client, method)(source.alertmanager_path()).status_code == 405


def test_a_source_whose_board_has_no_columns_is_422_naming_the_board(client, source):
    from boards.models import Board

    empty = Board.objects.create(name="Empty", slug="empty")
    source.board = empty
    source.save()

    response = post_alerts(client, source, am_payload(am_alert()))

    assert response.status_code == 422
    assert response.json()["error"] == "The Empty board has no columns yet."
