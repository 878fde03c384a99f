"""The alert source's admin page in Chromium: full URLs shown, the copy button copies, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from intake.models import AlertSource
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_copy_button_copies_the_full_webhook_url(page: Page, live_server, desk, manager):
    source = AlertSource(name="Prometheus", board=desk.noc)
    source.set_token()
    source.save()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, live_server, "morgan")

    page.goto(f"{live_server.url}/admin/intake/alertsource/{source.pk}/change/")

    url = f"{live_server.url}/intake/{source.key}/alertmanager/"
    webhook = page.locator("dd", has=page.locator(f'code[data-path="{source.alertmanager_path()}"]'))
    expect(webhook.locator("code")).to_have_text(url)
    webhook.get_by_role("button", name="Copy").click()
    expect(webhook.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert violations == []
