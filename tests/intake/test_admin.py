"""Managers create alert sources in admin: the token is shown once and kept hashed, the URLs can be copied."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from intake.models import AlertSource, hash_token
from tests.intake.conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_a_new_source_lands_on_noc_by_default(manager_client, desk):
    response = manager_client.get(reverse("admin:intake_alertsource_add"))

    assert response.status_code == 200
    assert re.search(rf'<option value="{desk.noc.pk}" selected>', response.text)


def test_saving_a_new_source_shows_its_token_once_and_stores_only_a_hash(manager_client, desk):
    response = manager_client.post(
        reverse("admin:intake_alertsource_add"),
        {
            "name": "Zabbix",
            "active": "on",
            "board": desk.noc.pk,
            "column": "",
            "severity_priorities": '{"Disaster": 1, "warning": 3}',
            "default_priority": 3,
            "client_label": "client",
            "flap_window_minutes": 30,
            "still_firing_minutes": 60,
        },
        follow=True,
    )

    source = AlertSource.objects.get(name="Zabbix")
    token = re.search(r"The token of “Zabbix” is <code>([\w-]+)</code>", response.text).group(1)
    assert source.token_hash == hash_token(token) and token not in source.token_hash
    assert source.severity_priorities == {"disaster": 1, "warning": 3}
    page = manager_client.get(reverse("admin:intake_alertsource_change", args=[source.pk])).text
    assert token not in page


def test_a_column_of_another_board_is_refused(manager_client, desk):
    response = manager_client.post(
        reverse("admin:intake_alertsource_add"),
        {
            "name": "Wrong column",
            "board": desk.noc.pk,
            "column": desk.triage.entry_column().pk,
            "severity_priorities": "{}",
            "default_priority": 3,
            "flap_window_minutes": 30,
            "still_firing_minutes": 60,
        },
    )

    assert response.status_code == 200
    assert "is not a column of the NOC board" in response.text
    assert not AlertSource.objects.filter(name="Wrong column").exists()


def test_the_change_page_shows_both_urls_with_a_copy_button_and_no_inline_script(manager_client, source):
    page = manager_client.get(reverse("admin:intake_alertsource_change", args=[source.pk])).text

    assert f'data-path="/intake/{source.key}/alertmanager/"' in page
    assert f'data-path="/intake/{source.key}/events/"' in page
    assert page.count('class="button intake-copy"') == 2
    assert "switchback/intake-admin.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # only script files: the CSP allows no inline script
    assert not re.search(r"\son[a-z]+=", page)


def test_issuing_a_new_token_stops_the_old_one(manager_client, client, source):
    response = manager_client.post(
        reverse("admin:intake_alertsource_changelist"),
        {"action": "issue_new_token", "_selected_action": [source.pk]},
        follow=True,
    )

    source.refresh_from_db()
    new = re.search(r"The token of “Prometheus” is <code>([\w-]+)</code>", response.text).group(1)
    assert source.token_matches(new) and not source.token_matches(TOKEN)


def test_a_technician_cannot_reach_alert_sources(client, tier1, source):
    client.force_login(tier1)

    assert client.get(reverse("admin:intake_alertsource_changelist")).status_code == 302
