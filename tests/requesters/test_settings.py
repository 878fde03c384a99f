"""The requesters' settings fail at start, naming the variable, when a value is bad."""

from __future__ import annotations

import pytest

from tests.test_settings import _start


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SITE_URL", "desk.example.com", "SITE_URL='desk.example.com' is not an http(s):// address."),
        ("SITE_URL", "ftp://desk.example.com", "is not an http(s):// address"),
        ("REQUESTER_ATTACHMENT_MAX_BYTES", "10MB", "REQUESTER_ATTACHMENT_MAX_BYTES='10MB' is not a whole number."),
        ("REQUESTER_SENDER_LIMIT_PER_HOUR", "many", "is not a whole number"),
        ("EMAIL_USE_SSL", "maybe", "EMAIL_USE_SSL='maybe' is not a boolean"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(tmp_path, name, value, says):
    result = _start(tmp_path, **{name: value})

    assert result.returncode != 0
    assert says in result.stderr


def test_an_https_site_url_starts(tmp_path):
    assert _start(tmp_path, SITE_URL="https://desk.example.com").returncode == 0
