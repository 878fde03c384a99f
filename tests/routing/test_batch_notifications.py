"""The sweep tells each board once per batch; a person's move is still told at once, on its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from boards.models import Ticket
from routing import services
from routing.models import Criterion, Direction, Move
from tests.concurrency import at_once
from tests.factories import make_ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = NOW + timedelta(minutes=30)


def numbers_in(email) -> list[str]:
    """The ticket numbers an email lists, one per line."""
    return re.findall(r"^(#\d+) ", email.body, flags=re.MULTILINE)


def triage_tickets(desk, count: int) -> list[Ticket]:
    return [make_ticket(board=desk.triage, title=f"Printer {n}", now=NOW) for n in range(count)]


def test_a_batch_of_escalations_is_one_email_listing_every_ticket(
    desk, tier2, mailoutbox, django_capture_on_commit_callbacks
):
    tickets = triage_tickets(desk, 14)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.sweep(DUE) == 14

    assert len(callbacks) == 1
    [email] = mailoutbox
    assert email.to == ["sam@example.com"]
    assert email.subject == "[Switchback] 14 tickets escalated to Support by the Tier 1 time limit"
    assert sorted(numbers_in(email)) == sorted(t.number for t in tickets)
    assert "Time limit of 30 active minutes reached." in email.body


def test_each_batch_and_each_target_board_gets_its_own_email(
    desk, tier1, tier2, mailoutbox, django_capture_on_commit_callbacks
):
    Criterion.objects.create(
        name="NOC time limit",
        direction=Direction.TRANSFER,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.noc,
        to_board=desk.triage,
        time_limit_minutes=30,
    )
    to_support = triage_tickets(desk, 3)
    to_triage = [make_ticket(board=desk.noc, title=f"Backup {n}", now=NOW) for n in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        # Two batches: three for Support and one for Triage, then the last for Triage.
        assert services.sweep(DUE, batch_size=4) == 5

    sent = {(email.to[0], tuple(sorted(numbers_in(email)))) for email in mailoutbox}
    assert len(mailoutbox) == len(sent)
    # Every ticket is listed once, to the people of the board it went to.
    listed = [(to, number) for to, numbers in sent for number in numbers]
    assert sorted(listed) == sorted(
        [("sam@example.com", t.number) for t in to_support] + [("tess@example.com", t.number) for t in to_triage]
    )
    assert len(mailoutbox) == 3


def test_a_persons_move_is_told_at_once_on_its_own(desk, tier1, tier2, mailoutbox, django_capture_on_commit_callbacks):
    ticket = make_ticket(board=desk.triage, title="Laptop will not boot", now=NOW)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.move_ticket(
            ticket,
            actor=tier1,
            expected_version=ticket.version,
            criterion=desk.criteria["Beyond this tier"],
            direction=Direction.ESCALATE,
            now=NOW + timedelta(minutes=5),
        )

    assert len(callbacks) == 1
    [email] = mailoutbox
    assert email.subject == f"[Switchback] {ticket.number} escalated to Support: Laptop will not boot"
    assert "By: Tess Tier-One" in email.body


def test_a_sweep_that_dies_midway_sends_nothing_and_the_retry_lists_each_ticket_once(
    desk, tier2, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    tickets = triage_tickets(desk, 6)
    real_apply, calls = services._apply, []

    def dies_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("worker lost")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(services, "_apply", dies_on_the_fourth)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        services.sweep(DUE)
    assert callbacks == [] and mailoutbox == []

    monkeypatch.setattr(services, "_apply", real_apply)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep(DUE) == 6
        assert services.sweep(DUE) == 0

    [email] = mailoutbox
    assert sorted(numbers_in(email)) == sorted(t.number for t in tickets)


def test_a_broker_that_is_down_never_undoes_the_sweep(
    desk, tier1, tier2, broker_down, django_capture_on_commit_callbacks, caplog
):
    Criterion.objects.create(
        name="NOC time limit",
        direction=Direction.TRANSFER,
        trigger=Criterion.Trigger.TIME,
        from_board=desk.noc,
        to_board=desk.triage,
        time_limit_minutes=30,
    )
    tickets = [*triage_tickets(desk, 2), make_ticket(board=desk.noc, now=NOW)]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.sweep(DUE) == 3

    assert len(callbacks) == 2  # Support's and Triage's, each tried despite the other's failure
    assert caplog.text.count("Error calling") == 2
    assert Move.objects.filter(ticket__in=tickets, criterion__trigger=Criterion.Trigger.TIME).count() == 3
    assert services.sweep(DUE) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_list_each_escalated_ticket_in_exactly_one_email(desk, tier2, mailoutbox):
    opened = NOW - timedelta(minutes=40)
    limit = desk.criteria["Tier 1 time limit"]
    Ticket.objects.bulk_create(
        Ticket(
            title=f"Due ticket {n}",
            board=desk.triage,
            column=desk.triage.entry_column(),
            created_at=opened,
            entered_board_at=opened,
            clock_started_at=opened,
            deadline_at=opened + timedelta(minutes=30),
            deadline_criterion=limit,
        )
        for n in range(400)
    )

    def sweeper():
        return services.sweep(NOW, batch_size=25)

    moved = at_once(sweeper, sweeper)

    assert sum(moved) == 400
    listed = [number for email in mailoutbox for number in numbers_in(email)]
    assert sorted(listed) == sorted(f"#{pk}" for pk in Ticket.objects.values_list("pk", flat=True))
    assert len(mailoutbox) >= 400 // 25  # one per batch of up to 25, whichever sweep took it
