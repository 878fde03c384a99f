"""Under the Content Security Policy the board, drawer, dialogs and drag still work, and the
browser reports no violation. Also: errors shown in place, and the error and lockout pages
(light and dark) as screenshots."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

from boards.models import Ticket
from tests.e2e.conftest import assert_no_csp_violations, card, column, is_move_post, login, open_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_board_drawer_dialogs_and_drag_work_with_no_csp_violation(watched, live_server, desk, both, ticket_factory):
    page = watched
    dragged = ticket_factory(column="New", title="Printer jams on every page")
    escalated = ticket_factory(column="In progress", title="Replace the office router")
    login(page, live_server, "alex")
    open_board(page, live_server, "triage")
    policy = page.request.get(f"{live_server.url}/boards/triage/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]

    # Drag.
    with page.expect_response(is_move_post(dragged.pk)) as moved:
        card(page, dragged).drag_to(column(page, "In progress").locator("ol.cards"))
    assert moved.value.ok
    # The card is shown in its new column at once; wait for the answer's copy
    # (version 2), or the keypress would post the version the move replaced.
    expect(column(page, "In progress").locator(f"#ticket-{dragged.pk}")).to_have_attribute("data-version", "2")

    # Keyboard.
    card(page, dragged).focus()
    with page.expect_response(is_move_post(dragged.pk)) as moved:
        page.keyboard.press("Shift+ArrowLeft")
    assert moved.value.ok, moved.value.status
    expect(column(page, "New").locator(f"#ticket-{dragged.pk}")).to_be_visible()

    # Drawer.
    card(page, dragged).locator("a.card-title").click()
    drawer = page.locator("aside#drawer")
    expect(drawer).to_contain_text("Printer jams on every page")
    drawer.locator("textarea[name=body]").fill("Cleared the paper path.")
    drawer.get_by_role("button", name="Add note").click()
    expect(page.locator("#messages")).to_contain_text("note added")
    page.keyboard.press("Escape")

    # The escalate dialog, and the escalation it makes.
    card(page, escalated).get_by_role("button", name="Escalate", exact=True).click()
    dialog = page.locator("dialog#move-dialog[open]")
    expect(dialog).to_be_visible()
    dialog.locator("label").filter(has_text="Needs onsite visit").first.locator("input[name=criterion]").check()
    dialog.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator(f"#board-columns #ticket-{escalated.pk}")).to_have_count(0)
    assert Ticket.objects.get(pk=escalated.pk).board.slug == "support"

    # The de-escalate dialog, from Support.
    open_board(page, live_server, "support")
    page.wait_for_load_state()
    card(page, escalated).get_by_role("button", name="De-escalate", exact=True).click()
    expect(page.locator("dialog#move-dialog[open]")).to_be_visible()
    page.keyboard.press("Escape")

    # The live poll ran meanwhile (every 3 s); give it one more round.
    page.wait_for_timeout(3_500)
    assert_no_csp_violations(page)


def test_home_done_flow_and_login_pages_have_no_csp_violation(watched, live_server, desk, both, ticket_factory):
    page = watched
    ticket_factory(title="Something to show")
    page.goto(f"{live_server.url}/login/")
    login(page, live_server, "alex")
    for path in ("/", "/boards/triage/done/", "/flow/", f"/tickets/{Ticket.objects.first().pk}/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.ok, path
        page.wait_for_load_state("networkidle")
    assert_no_csp_violations(page)


def test_admin_pages_have_no_csp_violation(watched, live_server, desk, manager, ticket_factory):
    page = watched
    ticket = ticket_factory(title="Seen in admin")
    login(page, live_server, "morgan")
    for path in (
        "/admin/",
        "/admin/boards/ticket/",
        f"/admin/boards/ticket/{ticket.pk}/change/",
        "/admin/routing/criterion/add/",
        "/admin/axes/accessattempt/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.ok, path
        page.wait_for_load_state("networkidle")
    assert_no_csp_violations(page)


def test_a_drawer_whose_ticket_left_the_board_says_so_in_place(
    watched, live_server, desk, tier1, ticket_factory, screenshot_dir
):
    page = watched
    ticket = ticket_factory(column="New", title="Moves away while I look")
    login(page, live_server, "tess")
    open_board(page, live_server, "triage")
    page.evaluate("window.__sameDocument = true")
    # Someone else sends it to Support while the card is still on this screen.
    Ticket.objects.filter(pk=ticket.pk).update(board=desk.support, column=desk.support.entry_column())

    card(page, ticket).locator("a.card-title").click()
    drawer = page.locator("aside#drawer .error-inline")
    expect(drawer).to_be_visible()
    expect(drawer).to_contain_text("No ticket with that number on your boards.")
    assert page.evaluate("window.__sameDocument") is True  # in place: no page load
    page.screenshot(path=screenshot_dir / "error-in-drawer.png")
    drawer.locator("[data-drawer-close]").click()
    expect(page.locator("aside#drawer")).to_be_empty()
    assert_no_csp_violations(page)


def _break_the_board(monkeypatch, exc: Exception) -> None:
    import boards.views

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(boards.views, "_board_columns", broken)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_error_and_lockout_pages(
    page, live_server, desk, tier1, ticket_factory, screenshot_dir, monkeypatch, scheme
):
    page.emulate_media(color_scheme=scheme)
    login(page, live_server, "tess")
    other = ticket_factory(board=desk.support, title="Not yours")

    page.goto(f"{live_server.url}/boards/triage/")
    response = page.goto(f"{live_server.url}/boards/atlantis/")
    assert response.status == 404
    expect(page.get_by_role("link", name="Go to My work")).to_be_visible()
    page.screenshot(path=screenshot_dir / f"error-404-{scheme}.png", full_page=True)
    response = page.goto(f"{live_server.url}/tickets/{other.pk}/escalate/?to=a%00b")
    assert response.status == 400
    expect(page.locator("h1")).to_have_text("That request didn't make sense")
    page.screenshot(path=screenshot_dir / f"error-400-{scheme}.png", full_page=True)

    response = page.goto(f"{live_server.url}/tickets/{other.pk}/escalate/")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("is on the Support board, which you do not work.")
    page.screenshot(path=screenshot_dir / f"error-403-{scheme}.png", full_page=True)

    _break_the_board(monkeypatch, RuntimeError("a bug"))
    response = page.goto(f"{live_server.url}/boards/triage/")
    assert response.status == 500
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    page.screenshot(path=screenshot_dir / f"error-500-{scheme}.png", full_page=True)

    _break_the_board(monkeypatch, OperationalError("the database went away"))
    response = page.goto(f"{live_server.url}/boards/triage/")
    assert response.status == 503
    expect(page.locator("h1")).to_have_text("Switchback is briefly unavailable")
    page.screenshot(path=screenshot_dir / f"error-503-{scheme}.png", full_page=True)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    for n in range(5):
        page.locator("input[name=username]").fill("tess")
        page.locator("input[name=password]").fill(f"wrong-{n}")
        page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Too many failed logins")
    expect(page.locator(".retry-at")).to_contain_text("Try again after")
    page.screenshot(path=screenshot_dir / f"locked-out-{scheme}.png", full_page=True)
