"""The Flow page's views: who may see what, the SVG download, an arrow's ticket list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_ticket


@pytest.fixture
def escalated(desk):
    """A Triage ticket the scheduler escalated an hour ago."""
    from routing import services

    now = timezone.now()
    ticket = make_ticket(board=desk.boards["triage"], title="Printer <b>offline</b>", now=now - timedelta(hours=2))
    services.sweep(now - timedelta(hours=1))
    return ticket


def test_a_manager_sees_the_map_the_lint_and_the_what_if_link(client, manager, escalated):
    client.force_login(manager)
    response = client.get(reverse("flow:page"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and 'data-arrow="criterion-' in body
    assert "Is the map sound?" in body
    assert reverse("flow:what_if") in body


def test_a_technician_sees_the_map_read_only_without_what_if(client, tier1, escalated):
    client.force_login(tier1)
    response = client.get(reverse("flow:page"))
    assert response.status_code == 200
    assert reverse("flow:what_if") not in response.content.decode()
    assert client.get(reverse("flow:what_if")).status_code == 403


def test_the_choice_of_period_and_board_lives_in_the_url(client, manager, desk):
    client.force_login(manager)
    body = client.get(reverse("flow:page"), {"range": "30d", "board": "noc"}).content.decode()
    assert '<option value="30d" selected>' in body
    assert '<option value="noc" selected>' in body
    assert 'name="stale"' in body  # the idle-tickets gauge's N
    # The download and every arrow keep the same choice.
    assert f"{reverse('flow:map_svg')}?range=30d&amp;board=noc" in body


def test_a_hand_edited_url_falls_back_and_says_so(client, manager, desk):
    client.force_login(manager)
    response = client.get(reverse("flow:page"), {"range": "forever", "board": "nope", "stale": "x"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "No board “nope”" in body
    assert "Last 7 days" in body


def test_a_custom_period_in_the_wrong_order_is_explained(client, manager, desk):
    client.force_login(manager)
    body = client.get(
        reverse("flow:page"), {"range": "custom", "start": "2026-03-10", "end": "2026-03-01"}
    ).content.decode()
    assert "A custom period needs a start and an end date" in body


def test_the_map_downloads_as_an_svg_file(client, manager, escalated):
    client.force_login(manager)
    response = client.get(reverse("flow:map_svg"), {"range": "30d"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Content-Disposition"].startswith('attachment; filename="switchback-flow-')
    body = response.content.decode()
    assert body.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in body
    assert "prefers-color-scheme: dark" in body  # readable in both schemes on its own


def test_clicking_an_arrow_lists_its_tickets_in_place(client, manager, desk, escalated):
    client.force_login(manager)
    url = reverse("flow:arrow", args=["criterion", desk.criteria["Tier 1 time limit"].pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # a fragment for #arrow-panel
    assert f"#{escalated.pk}" in body and "Printer &lt;b&gt;offline&lt;/b&gt;" in body
    assert "the scheduler" in body


def test_without_javascript_an_arrow_opens_as_a_page(client, manager, desk, escalated):
    client.force_login(manager)
    url = reverse("flow:arrow", args=["opened", desk.boards["triage"].pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "Back to the Flow map" in response.content.decode()


@pytest.mark.parametrize(("kind", "pk"), [("criterion", 999_999), ("resolved", 999_999), ("sideways", 1)])
def test_an_arrow_that_does_not_exist_is_a_404(client, manager, desk, kind, pk):
    client.force_login(manager)
    assert client.get(reverse("flow:arrow", args=[kind, pk])).status_code == 404


@pytest.mark.parametrize("name", ["flow:page", "flow:map_svg", "flow:what_if"])
def test_the_flow_pages_only_answer_get(client, manager, desk, name):
    client.force_login(manager)
    assert client.post(reverse(name)).status_code == 405
