"""Logging in through the real form."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_wrong_password_shows_an_error_and_stays_on_login(page, live_server, tier1):
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill("tess")
    page.locator("input[name=password]").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".message.error")).to_contain_text("didn't match")
    expect(page).to_have_url(f"{live_server.url}/login/")


def test_right_password_lands_home_listing_the_boards_i_work(page, live_server, tier1):
    page.goto(f"{live_server.url}/")  # LoginRequiredMiddleware sends us to the form
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    page.locator("input[name=username]").fill("tess")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    main = page.locator("main")
    # Each board I work, with its open and overdue counts.
    triage = main.get_by_role("link").filter(has_text="Triage")
    expect(triage.filter(has_text="open").filter(has_text="overdue")).to_have_count(1)
    # Boards she does not work get no such entry (a plain read-only link is fine).
    for other in ("Support", "NOC"):
        expect(main.get_by_role("link").filter(has_text=other).filter(has_text="open")).to_have_count(0)
    expect(main).to_contain_text("My tickets")
