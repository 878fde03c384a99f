"""Two technicians on one board: each sees the other's moves as single cards, never a whole redraw."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from routing import services
from tests.e2e.conftest import card, column, is_move_post, login, open_board
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Marks the columns element this page drew first: a full redraw replaces it.
MARK_COLUMNS = "() => { document.getElementById('board-columns').dataset.first = '1'; }"
SAME_COLUMNS = "() => document.getElementById('board-columns').dataset.first === '1'"
# Every column's count against the cards it holds: [name, count shown, cards].
COUNTS = """() => Array.from(document.querySelectorAll('#board-columns section.column')).map(s => [
  s.dataset.columnName,
  Number(s.querySelector('.column-count .n').textContent),
  s.querySelectorAll('article.card').length,
])"""


def _tab(browser: Browser, live_server, username: str) -> Page:
    page = browser.new_context().new_page()
    login(page, live_server, username)
    open_board(page, live_server, "triage")
    page.evaluate(MARK_COLUMNS)
    return page


def _counts(page: Page) -> dict[str, int]:
    counts = page.evaluate(COUNTS)
    assert all(shown == held for _, shown, held in counts), counts
    return {name: shown for name, shown, _ in counts}


def test_two_technicians_see_each_others_moves_card_by_card(browser, live_server, desk, tier1, manager, ticket_factory):
    tom = make_user("tom", tier=1, boards=[desk.triage], first_name="Tom", last_name="Tier-One")
    tess_card = ticket_factory(column="New", title="Tess's printer", assignee=tier1)
    tom_card = ticket_factory(column="New", title="Tom's VPN", assignee=tom)
    ticket_factory(column="New", title="Nobody touches this")
    leaving = ticket_factory(column="In progress", title="Off to Support")
    tess, toms = _tab(browser, live_server, "tess"), _tab(browser, live_server, "tom")
    assert _counts(tess) == _counts(toms) == {"New": 3, "In progress": 1, "Waiting on customer": 0, "Resolved": 0}

    with tess.expect_response(is_move_post(tess_card.pk)) as moved:
        card(tess, tess_card).drag_to(column(tess, "In progress").locator("ol.cards"))
    assert moved.value.ok
    expect(column(tess, "In progress").locator(f"#ticket-{tess_card.pk}")).to_have_attribute("data-version", "2")

    # Tom's move answers with his card and Tess's, which his page had not seen.
    with toms.expect_response(is_move_post(tom_card.pk)) as moved:
        card(toms, tom_card).drag_to(column(toms, "Waiting on customer").locator("ol.cards"))
    assert moved.value.ok and "board-columns" not in moved.value.text().replace('hx-target="#board-columns"', "")
    expect(column(toms, "In progress").locator(f"#ticket-{tess_card.pk}")).to_have_attribute("data-version", "2")

    # Tess's poll brings Tom's move; a manager's escalation takes a card off both boards.
    services.move_ticket(leaving.pk, actor=manager, expected_version=1, criterion=desk.criteria["Beyond this tier"])
    for page in (tess, toms):
        expect(column(page, "Waiting on customer").locator(f"#ticket-{tom_card.pk}")).to_be_visible()
        expect(page.locator(f"#ticket-{leaving.pk}")).to_have_count(0)
        expect(column(page, "New").locator("article.card")).to_have_count(1)
        assert _counts(page) == {"New": 1, "In progress": 1, "Waiting on customer": 1, "Resolved": 0}
        # Card by card: the columns this page first drew are still the ones on screen.
        assert page.evaluate(SAME_COLUMNS)
