"""The API's pages for people under the Content Security Policy: the profile page (make a token,
see it once, revoke it) and the docs page drawn from the schema, with no violation reported."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from tests.e2e.conftest import assert_no_csp_violations, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_profile_tokens_and_docs_pages_work_with_no_csp_violation(watched, live_server, tier1, screenshot_dir):
    page = watched
    login(page, live_server, "tess")

    # From the top bar's name to the profile page; make a read token.
    page.locator("header .who-name").click()
    expect(page.locator("h2", has_text="API tokens")).to_be_visible()
    page.locator("input[name=name]").fill("Nightly report")
    page.locator("select[name=scope]").select_option("read")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("code.token-text")
    expect(shown).to_be_visible()
    text = shown.inner_text()
    response = page.request.get(f"{live_server.url}/api/v1/boards/", headers={"Authorization": f"Bearer {text}"})
    assert response.status == 200
    page.screenshot(path=screenshot_dir / "api-token-created.png", full_page=True)

    # Shown once: the page read again lists it by prefix only. Then revoke it.
    page.goto(f"{live_server.url}/profile/")
    expect(page.locator("code.token-text")).to_have_count(0)
    expect(page.locator("table.tokens")).to_contain_text("Nightly report")
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#messages")).to_contain_text("Revoked")
    assert ApiToken.objects.get().revoked_at is not None

    # The docs page, from the profile page's link.
    page.get_by_role("link", name="Switchback API").click()
    expect(page.locator("h1")).to_have_text("The Switchback API")
    expect(page.locator("#problem-stale_version")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "api-docs.png", full_page=True)

    assert_no_csp_violations(page)
