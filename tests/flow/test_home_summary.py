"""The Flow summary on the home page: a manager's headline figures and a way into the Flow page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from flow import gauges

FIGURES = {
    "period_label": "Last 7 days",
    "moves": 1234,
    "escalations": 41,
    "de_escalations": 12,
    "by_scheduler": 17,
    "first_board_resolution": 0.625,
    "bounces": 3,
    "wasted_escalations": 0,
    "overdue_now": 2,
}


def _home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _summary(body: str) -> str:
    found = re.search(r'<section class="flow-summary".*?</section>', body, re.S)
    assert found, "no Flow summary on the page"
    return found.group(0)


@pytest.fixture
def headline(monkeypatch):
    """Stand in for the gauges: the home page shows whatever headline() returns."""
    figures = dict(FIGURES)
    calls = []

    def fake(now):
        calls.append(now)
        return figures

    monkeypatch.setattr(gauges, "headline", fake)
    return type("Headline", (), {"figures": figures, "calls": calls})


def test_a_manager_sees_the_headline_figures_and_a_link_to_the_flow_page(client, manager, headline):
    summary = _summary(_home(client, manager))
    assert f'href="{reverse("flow:page")}"' in summary
    assert "Last 7 days · 1,234 moves between boards or tiers" in summary
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", summary))
    for expected in (
        "escalations 41",
        "de-escalations 12",
        "escalated by the scheduler 17",
        "resolved on their first board 62%",
        "bounces ⚠ 3",
        "wasted escalations 0",
        "overdue now ✖ 2",
    ):
        assert expected in text
    assert len(headline.calls) == 1


def test_a_technician_sees_no_flow_summary(client, tier1, headline):
    body = _home(client, tier1)
    assert "flow-summary" not in body
    assert headline.calls == []  # nor do the figures get computed for them


def test_missing_figures_are_left_out_and_an_unknown_share_shows_a_dash(client, manager, headline):
    headline.figures.clear()
    headline.figures.update({"escalations": 5, "first_board_resolution": None})
    summary = _summary(_home(client, manager))
    assert 'data-figure="escalations"' in summary
    assert 'data-figure="first_board_resolution"' in summary and "—" in summary
    assert 'data-figure="bounces"' not in summary
    assert "moves" not in summary.split("</h2>")[1].split("<dl")[0]


def test_an_empty_headline_still_links_to_the_flow_page(client, manager, headline):
    headline.figures.clear()
    summary = _summary(_home(client, manager))
    assert "<dl" not in summary
    assert f'href="{reverse("flow:page")}"' in summary


def test_the_real_gauges_render_on_an_empty_desk(client, manager):
    summary = _summary(_home(client, manager))
    assert f'href="{reverse("flow:page")}"' in summary


def test_what_the_summary_adds_keeps_to_the_content_security_policy(client, manager, headline):
    summary = _summary(_home(client, manager))
    assert "<script" not in summary
    assert "style=" not in summary
    assert not re.search(r"\son[a-z]+=", summary)
    assert "switchback/home-flow.css" in _home(client, manager)
