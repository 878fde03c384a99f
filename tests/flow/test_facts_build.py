"""The ways the facts get built: the beat task, the management command, and what the page says."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flow import facts
from flow.facts import Coverage
from flow.models import FactsState, TicketFact
from flow.tasks import build_facts
from routing.models import Move
from tests.flow.test_gauges import CSV_PARAMS, NOW, build_history


def test_the_beat_task_builds_the_facts_and_reports_the_tickets(desk, tier1, tier2):
    history = build_history(desk, tier1, tier2)

    assert build_facts() == len(history)
    assert build_facts() == 0  # nothing new
    assert Coverage.read().moves_through == Move.objects.latest("pk").pk


def test_the_command_builds_says_how_far_and_rebuilds_in_full(desk, tier1, tier2):
    history = build_history(desk, tier1, tier2)
    out = StringIO()

    call_command("flow_facts", "--dry-run", stdout=out)
    assert f"No facts yet: a build would cover {len(history)} tickets." in out.getvalue()
    assert not FactsState.objects.exists()

    call_command("flow_facts", stdout=out)
    assert f"{len(history)} tickets and 3 notes rebuilt" in out.getvalue()

    call_command("flow_facts", "--dry-run", stdout=out)
    assert "0 newer moves on 0 tickets are counted live" in out.getvalue()

    TicketFact.objects.all().delete()
    call_command("flow_facts", "--full", stdout=out)
    assert TicketFact.objects.count() == len(history)


def test_the_command_fails_clearly_when_another_build_holds_the_state(desk, monkeypatch):
    monkeypatch.setattr(facts, "build", lambda **kwargs: None)
    with pytest.raises(CommandError, match="still running"):
        call_command("flow_facts", stdout=StringIO())


def test_the_page_says_where_the_figures_come_from(client, manager, desk, tier1, tier2, time_machine):
    build_history(desk, tier1, tier2)
    time_machine.move_to(NOW, tick=False)
    client.force_login(manager)

    html = client.get(f"/flow/?{CSV_PARAMS}").content.decode()
    assert "the precomputed facts have not been built yet" in html

    facts.build(NOW - timedelta(minutes=3))
    html = client.get(f"/flow/?{CSV_PARAMS}").content.decode()
    assert "come from precomputed facts" in html and "(3 min ago)" in html
    assert "lagging" not in html

    facts.build(NOW - timedelta(hours=2))
    html = client.get(f"/flow/?{CSV_PARAMS}").content.decode()
    assert "The facts are lagging (is the Celery beat running?)" in html
