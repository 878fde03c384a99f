"""The warning sweep: once at its moment, to the right people, cancelled by a move or a new deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import tasks
from notifications.models import BreachWarning, Notification
from notifications.warnings import due, send_due_warnings
from routing import services
from routing.models import Criterion
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
LIMIT = timedelta(minutes=30)
LEAD = timedelta(minutes=10)


@pytest.fixture
def limit(desk):
    """The demo's Tier 1 time limit, warning 10 minutes before it fires."""
    criterion = desk.criteria["Tier 1 time limit"]
    criterion.warn_before_minutes = 10
    criterion.save()
    return criterion


@pytest.fixture
def opened(limit, ticket_factory):
    return ticket_factory(column="New", now=NOW, title="Printer on fire")


def notified(ticket) -> list[str]:
    return sorted(Notification.objects.filter(warning__ticket=ticket).values_list("user__username", flat=True))


def test_the_warning_is_sent_once_at_its_moment_and_not_before(opened, tier1):
    """The beat task itself, on the clock, stepping across the moment a tick at a time."""
    warn_at = opened.deadline_at - LEAD
    assert opened.deadline_at == NOW + LIMIT

    with time_machine.travel(warn_at - timedelta(seconds=1), tick=False) as clock:
        assert tasks.send_due_warnings.delay().get() == 0
        clock.shift(timedelta(seconds=1))
        assert tasks.send_due_warnings.delay().get() == 1
        clock.shift(timedelta(seconds=5))
        assert tasks.send_due_warnings.delay().get() == 0
        clock.move_to(opened.deadline_at - timedelta(seconds=1))
        assert tasks.send_due_warnings.delay().get() == 0

    warning = BreachWarning.objects.get()
    assert (warning.ticket, warning.deadline_at, warning.warn_at) == (opened, opened.deadline_at, warn_at)
    assert notified(opened) == ["tess"]


def test_the_assignee_alone_is_told_when_there_is_one(limit, ticket_factory, tier1):
    other = make_user("otto", tier=1, boards=[limit.from_board])
    ticket = ticket_factory(column="New", now=NOW, assignee=other)

    assert send_due_warnings(NOW + LIMIT - LEAD) == 1

    assert notified(ticket) == ["otto"]


def test_an_unassigned_ticket_tells_every_active_technician_of_its_board(opened, tier1, tier2, desk):
    make_user("tim", tier=1, boards=[desk.triage])
    make_user("gone", tier=1, boards=[desk.triage], is_active=False)

    send_due_warnings(NOW + LIMIT - LEAD)

    assert notified(opened) == ["tess", "tim"]  # not Sam (Support, NOC), not an inactive account


def test_a_percentage_lead_warns_when_that_share_of_the_limit_has_passed(limit, ticket_factory, tier1):
    limit.warn_before_minutes, limit.warn_at_percent = None, 80
    limit.save()
    ticket = ticket_factory(column="New", now=NOW)

    assert send_due_warnings(NOW + timedelta(minutes=24) - timedelta(seconds=1)) == 0
    assert send_due_warnings(NOW + timedelta(minutes=24)) == 1
    assert BreachWarning.objects.get().warn_at == ticket.deadline_at - limit.warning_lead


def test_no_warning_for_a_deadline_already_passed(opened, tier1):
    """After downtime: the sweep escalates it; a warning now would be noise."""
    assert send_due_warnings(opened.deadline_at) == 0
    assert send_due_warnings(opened.deadline_at + timedelta(hours=1)) == 0


def test_a_criterion_without_a_lead_never_warns(desk, ticket_factory, tier1):
    ticket_factory(column="New", now=NOW)

    assert send_due_warnings(NOW + LIMIT - timedelta(seconds=1)) == 0


def test_a_move_before_the_moment_cancels_the_warning(opened, tier1, tier2, desk):
    """Escalated by hand before the warning: its old deadline never warns; the new board's deadline may."""
    onsite = desk.criteria["Needs onsite visit"]
    services.move_ticket(opened, actor=tier1, expected_version=None, criterion=onsite, now=NOW + timedelta(minutes=5))

    assert send_due_warnings(NOW + LIMIT - LEAD) == 0
    assert send_due_warnings(NOW + LIMIT) == 0
    assert not BreachWarning.objects.exists()


def test_a_warning_already_shown_says_it_no_longer_applies_after_a_move(opened, tier1, desk):
    moment = NOW + LIMIT - LEAD
    send_due_warnings(moment)
    warning = BreachWarning.objects.get()
    assert warning.status(moment).applies

    onsite = desk.criteria["Needs onsite visit"]
    services.move_ticket(
        opened, actor=tier1, expected_version=None, criterion=onsite, now=moment + timedelta(minutes=1)
    )

    warning = BreachWarning.objects.select_related("ticket__board").get()
    status = warning.status(moment + timedelta(minutes=1))
    assert not status.applies
    assert status.text == "No longer applies: the ticket moved to Support."


def test_a_changed_limit_warns_again_for_the_new_deadline_and_the_old_warning_no_longer_applies(opened, limit, tier1):
    moment = NOW + LIMIT - LEAD  # 10:20, deadline 10:30
    assert send_due_warnings(moment) == 1

    # A manager raises the limit to 45 minutes: deadlines are recomputed (10:45).
    limit.time_limit_minutes = 45
    limit.save()
    services.recompute_deadlines()
    opened.refresh_from_db()
    assert opened.deadline_at == NOW + timedelta(minutes=45)

    assert send_due_warnings(moment + timedelta(minutes=1)) == 0
    assert send_due_warnings(NOW + timedelta(minutes=35) - timedelta(seconds=1)) == 0
    assert send_due_warnings(NOW + timedelta(minutes=35)) == 1

    old, new = BreachWarning.objects.select_related("ticket__board").order_by("deadline_at")
    assert (old.deadline_at, new.deadline_at) == (NOW + LIMIT, NOW + timedelta(minutes=45))
    assert old.status(NOW + timedelta(minutes=35)).text == "No longer applies: its deadline changed."
    assert new.status(NOW + timedelta(minutes=35)).applies
    assert Notification.objects.filter(user=tier1).count() == 2


def test_waiting_pauses_the_clock_and_the_warning_no_longer_applies(opened, tier1):
    moment = NOW + LIMIT - LEAD
    send_due_warnings(moment)
    waiting = opened.board.columns.get(name="Waiting on customer")
    services.move_ticket(opened, actor=tier1, expected_version=None, to_column=waiting, now=moment)

    warning = BreachWarning.objects.select_related("ticket__board").get()
    assert warning.status(moment).text == "No longer applies: its clock is paused."
    assert send_due_warnings(NOW + LIMIT - timedelta(seconds=1)) == 0


def test_the_warning_emails_after_the_commit(opened, tier1, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_due_warnings(NOW + LIMIT - LEAD)
        assert mailoutbox == []
    assert len(callbacks) == 1
    for callback in callbacks:
        callback()

    [email] = mailoutbox
    assert email.to == ["tess@example.com"]
    assert f"#{opened.pk} nears its time limit: Printer on fire" in email.subject


def test_nothing_due_is_one_indexed_query(opened, tier1):
    with CaptureQueriesContext(connection) as queries:
        assert send_due_warnings(NOW + timedelta(minutes=5)) == 0
    assert len(queries) == 1


def test_the_sql_lead_agrees_with_the_criterion(limit, ticket_factory):
    """``warnings.due`` spells ``Criterion.warning_lead`` in SQL: the same moment to the microsecond,
    shares that do not divide evenly included (7 minutes at 33 %: 281 s, whole seconds down)."""
    cases = [(30, 10, None), (30, 1, None), (30, 29, None), (30, None, 80), (30, None, 1), (30, None, 99)]
    cases += [(7, None, 33), (7, None, 99), (1441, None, 87), (1441, 1440, None)]
    for minutes, before, percent in cases:
        limit.time_limit_minutes, limit.warn_before_minutes, limit.warn_at_percent = minutes, before, percent
        limit.save()
        ticket = ticket_factory(column="New", now=NOW)
        moment = ticket.deadline_at - limit.warning_lead
        assert not due(moment - timedelta(microseconds=1)).filter(pk=ticket.pk).exists(), (minutes, before, percent)
        assert due(moment).filter(pk=ticket.pk).exists(), (minutes, before, percent)
        ticket.delete()
    assert Criterion(trigger="time", time_limit_minutes=7, warn_at_percent=33).warning_lead == timedelta(seconds=281)


def test_a_warning_says_when_its_limit_passed_and_the_ticket_moved_on(opened, tier1):
    send_due_warnings(NOW + LIMIT - LEAD)
    assert services.sweep(NOW + LIMIT) == 1  # the Tier 1 time limit fires: on to Support

    warning = BreachWarning.objects.select_related("ticket__board").get()
    assert warning.status(NOW + LIMIT).text == "The time limit passed; the ticket is now on Support."


def test_a_tier_change_that_leaves_no_time_limit_says_so(opened, tier1):
    send_due_warnings(NOW + LIMIT - LEAD)
    services.move_ticket(opened, actor=tier1, expected_version=None, to_tier=2, now=NOW + LIMIT - LEAD)

    warning = BreachWarning.objects.select_related("ticket__board").get()
    assert warning.status(NOW + LIMIT - LEAD).text == "No longer applies: no time limit applies to it now."
