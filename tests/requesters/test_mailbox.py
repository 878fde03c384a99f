"""Mail in and out against a real Dovecot and a real SMTP server.

Messages are delivered with IMAP APPEND into the test's own account; the poll
reads them as it would in production; acknowledgements and notes leave over
SMTP to aiosmtpd. After-commit work runs because the tests capture and run
the commit callbacks (``django_capture_on_commit_callbacks``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from boards.models import Client, Note, Ticket
from boards.services import add_note, resolve_ticket, update_ticket
from requesters import imap, services
from requesters.models import (
    Attachment,
    ClientDomain,
    InboundMessage,
    Mailbox,
    OutboundMessage,
    RequesterNote,
    UnreadableMessage,
)
from routing.models import Move
from routing.services import move_ticket
from tests.requesters.conftest import email


def poll(mailbox, capture):
    """One poll, with its after-commit mail sent as a worker would."""
    with capture(execute=True):
        return imap.poll(mailbox)


def test_a_new_message_opens_a_ticket_and_is_acknowledged(mailbox, inbox, smtp, django_capture_on_commit_callbacks):
    northwind = Client.objects.create(name="Northwind Logistics")
    ClientDomain.objects.create(client=northwind, domain="northwind.example")
    inbox.deliver(
        email(
            message_id="<first@northwind.example>",
            body="Plain words.",
            html="<p>Hello <b>desk</b></p><script>alert('x')</script><p>Can't log in.</p>",
            attachments=[("screenshot.png", "image/png", b"\x89PNG fake")],
        )
    )

    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"opened": 1}
    ticket = Ticket.objects.get()
    assert (ticket.board, ticket.title, ticket.source) == (mailbox.board, "Can't log in", Ticket.Source.EMAIL)
    assert (ticket.requester_name, ticket.requester_email, ticket.client) == (
        "Pat Requester",
        "pat@northwind.example",
        northwind,
    )
    assert ticket.description == "Plain words."
    attachment = Attachment.objects.get(ticket=ticket)
    assert (attachment.filename, attachment.content_type, bytes(attachment.data)) == (
        "screenshot.png",
        "image/png",
        b"\x89PNG fake",
    )
    # Flagged on the server only after the import: nothing is left unread.
    assert inbox.uids("UNSEEN") == []
    [ack] = smtp.to("pat@northwind.example")
    assert ack["Subject"] == f"[#{ticket.pk}] Can't log in"
    assert ack["In-Reply-To"] == "<first@northwind.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"] == mailbox.address
    body = ack.get_content()
    assert f"ticket #{ticket.pk}" in body
    assert "/help/status/" in body


def test_an_html_only_message_becomes_plain_text(mailbox, inbox, django_capture_on_commit_callbacks):
    msg = email(body="")
    msg.set_content("<p>Printer <i>jammed</i> &amp; smoking</p><style>p{}</style><img src=x onerror=alert(1)>", "html")
    inbox.deliver(msg)

    poll(mailbox, django_capture_on_commit_callbacks)

    assert Ticket.objects.get().description == "Printer jammed & smoking"


def test_a_reply_threads_onto_its_ticket_by_its_headers(mailbox, inbox, smtp, django_capture_on_commit_callbacks):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    [ack] = smtp.messages

    inbox.deliver(
        email(
            subject="Re: something else entirely",
            body="It works again, thanks!\n\nOn Monday, the desk wrote:\n> We have your request",
            headers={"In-Reply-To": ack["Message-ID"], "References": f"<first@northwind.example> {ack['Message-ID']}"},
        )
    )
    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"reply": 1}
    assert Ticket.objects.count() == 1
    note = Note.objects.get(ticket=ticket)
    assert not note.internal
    assert note.body == "Pat Requester <pat@northwind.example> wrote by email:\n\nIt works again, thanks!"
    assert RequesterNote.objects.filter(note=note, via="email").exists()
    # The requester's own words are not mailed back, and a reply gets no acknowledgement.
    assert len(smtp.messages) == 1


def test_a_reply_threads_by_the_ticket_tag_from_the_requester_only(mailbox, inbox, django_capture_on_commit_callbacks):
    inbox.deliver(email())
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()

    inbox.deliver(
        email(subject=f"Re: [#{ticket.pk}] Can't log in", body="Still broken."),
        email(sender="mallory@elsewhere.example", subject=f"[#{ticket.pk}] injected", body="Let me in."),
    )
    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"reply": 1, "opened": 1}
    assert [n.body.split("\n\n")[1] for n in ticket.notes.all()] == ["Still broken."]
    assert Ticket.objects.get(requester_email="mallory@elsewhere.example").pk != ticket.pk


def test_a_reply_to_a_resolved_ticket_reopens_it_through_the_move_service(
    mailbox, inbox, tier1, django_capture_on_commit_callbacks
):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    resolve_ticket(ticket, actor=tier1, expected_version=None)
    ticket.refresh_from_db()
    assert not ticket.is_open

    inbox.deliver(email(body="It broke again.", headers={"In-Reply-To": "<first@northwind.example>"}))
    poll(mailbox, django_capture_on_commit_callbacks)

    ticket.refresh_from_db()
    assert ticket.is_open
    assert ticket.column == ticket.board.entry_column()
    reopen = Move.objects.filter(ticket=ticket).order_by("-pk").first()
    assert (reopen.actor, reopen.note) == (None, "Reopened: the requester replied by email.")
    assert reopen.from_column.is_done


def _waiting_on_the_customer(ticket, tech):
    """Tess takes the ticket and asks the customer something: it waits in "Waiting on customer"."""
    update_ticket(ticket, actor=tech, expected_version=None, assignee=tech)
    waiting = ticket.board.columns.get(name="Waiting on customer")
    move_ticket(ticket.pk, actor=tech, expected_version=None, to_column=waiting)
    return waiting


def test_a_reply_to_a_ticket_waiting_on_the_customer_brings_it_back_to_work_and_tells_its_assignee(
    mailbox, inbox, smtp, tier1, django_capture_on_commit_callbacks
):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    waiting = _waiting_on_the_customer(ticket, tier1)

    inbox.deliver(email(body="Here is the log you asked for.", headers={"In-Reply-To": "<first@northwind.example>"}))
    assert poll(mailbox, django_capture_on_commit_callbacks).counts == {"reply": 1}

    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"
    assert ticket.clock_started_at is not None  # its clock runs again
    back = Move.objects.filter(ticket=ticket).order_by("-pk").first()
    assert (back.from_column, back.to_column, back.actor, back.note) == (
        waiting,
        ticket.column,
        None,
        "Back from “Waiting on customer”: the requester replied by email.",
    )
    [notice] = smtp.to("tess@example.com")
    assert notice["Subject"] == (
        f"[Switchback] #{ticket.pk} back from Waiting on customer, Pat Requester replied: Can't log in"
    )
    body = notice.get_content()
    assert "Here is the log you asked for." in body
    assert f"/tickets/{ticket.pk}/" in body


def test_a_reply_to_a_ticket_being_worked_on_leaves_it_where_it_is(
    mailbox, inbox, smtp, tier1, django_capture_on_commit_callbacks
):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    update_ticket(ticket, actor=tier1, expected_version=None, assignee=tier1)
    move_ticket(ticket.pk, actor=tier1, expected_version=None, to_column=ticket.board.columns.get(name="In progress"))
    moves = Move.objects.filter(ticket=ticket).count()

    inbox.deliver(email(body="Any news?", headers={"In-Reply-To": "<first@northwind.example>"}))
    assert poll(mailbox, django_capture_on_commit_callbacks).counts == {"reply": 1}

    ticket.refresh_from_db()
    assert ticket.column.name == "In progress"
    assert Move.objects.filter(ticket=ticket).count() == moves
    assert smtp.to("tess@example.com") == []
    assert ticket.notes.get().requester.display_name == "Pat Requester"


def test_a_reply_that_reopens_an_unassigned_ticket_tells_the_boards_technicians(
    mailbox, inbox, smtp, tier1, django_capture_on_commit_callbacks
):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    resolve_ticket(ticket, actor=tier1, expected_version=None)

    inbox.deliver(email(body="It broke again.", headers={"In-Reply-To": "<first@northwind.example>"}))
    poll(mailbox, django_capture_on_commit_callbacks)

    [notice] = smtp.to("tess@example.com")
    assert notice["Subject"] == f"[Switchback] #{ticket.pk} reopened, Pat Requester replied: Can't log in"
    assert "It broke again." in notice.get_content()


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"List-Id": "<announce.northwind.example>"},
    ],
    ids=["auto-submitted", "x-autoreply", "precedence-bulk", "precedence-list", "list-id"],
)
def test_automatic_mail_opens_nothing_and_gets_no_answer(
    mailbox, inbox, smtp, django_capture_on_commit_callbacks, headers
):
    inbox.deliver(email(subject="Out of office", headers=headers))

    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"ignored": 1}
    assert not Ticket.objects.exists()
    assert smtp.messages == []
    assert InboundMessage.objects.get().outcome == InboundMessage.Outcome.IGNORED
    assert inbox.uids("UNSEEN") == []


def test_a_bounce_opens_nothing(mailbox, inbox, smtp, django_capture_on_commit_callbacks):
    inbox.deliver(email(sender="MAILER-DAEMON@mx.northwind.example", subject="Undelivered Mail Returned to Sender"))

    assert poll(mailbox, django_capture_on_commit_callbacks).counts == {"ignored": 1}
    assert not Ticket.objects.exists()
    assert smtp.messages == []


def test_a_message_that_cannot_be_read_is_kept_whole_and_moved_to_the_errors_folder(
    mailbox, inbox, django_capture_on_commit_callbacks
):
    garbage = b"Subject: no sender here\r\nX-Junk: \xff\xfe\r\n\r\nwho sent this?\r\n"
    unknown_charset = (
        b"From: pat@northwind.example\r\nSubject: odd\r\nMessage-ID: <odd@northwind.example>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello\r\n"
    )
    inbox.deliver(garbage, unknown_charset)

    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"failed": 2}
    assert not Ticket.objects.exists()
    kept = {bytes(m.raw).replace(b"\r\n", b"\n") for m in UnreadableMessage.objects.filter(outcome="failed")}
    assert kept == {garbage.replace(b"\r\n", b"\n"), unknown_charset.replace(b"\r\n", b"\n")}
    assert inbox.uids() == []
    assert len(inbox.uids(folder=mailbox.errors_folder)) == 2


def test_a_sender_over_the_rate_limit_is_held_not_lost(
    mailbox, inbox, smtp, settings, django_capture_on_commit_callbacks
):
    settings.REQUESTER_SENDER_LIMIT_PER_HOUR = 2
    inbox.deliver(*(email(subject=f"Request {n}") for n in range(3)))

    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"opened": 2, "limited": 1}
    assert Ticket.objects.count() == 2
    assert len(smtp.messages) == 2
    held = InboundMessage.objects.get(outcome="limited")
    assert b"Subject: Request 2" in bytes(held.raw)

    # A manager lets it in after all (admin's action).
    with django_capture_on_commit_callbacks(execute=True):
        assert services.release_held(held)
    assert not services.release_held(held)
    held.refresh_from_db()
    assert (held.outcome, held.ticket.title, held.raw) == ("opened", "Request 2", None)
    assert len(smtp.messages) == 3


def test_a_message_imported_but_not_flagged_is_only_flagged_by_the_next_poll(
    mailbox, inbox, django_capture_on_commit_callbacks
):
    msg = email()
    inbox.deliver(msg)
    # As if a poll died after its commit, before it told the server.
    services.receive_message(mailbox, msg.as_bytes())
    assert inbox.uids("UNSEEN") != []

    result = poll(mailbox, django_capture_on_commit_callbacks)

    assert (result.counts, result.repeats) == ({}, 1)
    assert Ticket.objects.count() == 1
    assert inbox.uids("UNSEEN") == []


def test_a_processed_folder_receives_imported_mail(mailbox, inbox, django_capture_on_commit_callbacks):
    mailbox.processed_folder = "Imported"
    mailbox.save()
    inbox.deliver(email(), email(subject="Another"))

    poll(mailbox, django_capture_on_commit_callbacks)

    assert Ticket.objects.count() == 2
    assert inbox.uids() == []
    assert len(inbox.uids(folder="Imported")) == 2


def test_a_mailbox_whose_password_is_missing_says_so(mailbox, monkeypatch):
    monkeypatch.delenv("MAILBOX_TEST_PASSWORD")

    result = imap.poll_and_record(mailbox)

    mailbox.refresh_from_db()
    assert "MAILBOX_TEST_PASSWORD" in result.error
    assert "MAILBOX_TEST_PASSWORD" in mailbox.last_error
    assert mailbox.last_polled_at is not None


# --- Outgoing ----------------------------------------------------------------------------


def test_a_customer_note_is_mailed_with_the_tag_and_threading_headers(
    mailbox, inbox, smtp, tier1, django_capture_on_commit_callbacks
):
    inbox.deliver(email(message_id="<first@northwind.example>"))
    poll(mailbox, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    [ack] = smtp.messages

    with django_capture_on_commit_callbacks(execute=True):
        add_note(ticket, author=tier1, body="Reset your password; try now.", internal=False)
    with django_capture_on_commit_callbacks(execute=True):
        add_note(ticket, author=tier1, body="Checked the AD logs: a lockout.", internal=True)

    assert len(smtp.messages) == 2
    note_mail = smtp.messages[1]
    assert note_mail["Subject"] == f"Re: [#{ticket.pk}] Can't log in"
    assert note_mail["To"] == "Pat Requester <pat@northwind.example>"
    assert note_mail["In-Reply-To"] == "<first@northwind.example>"
    assert ack["Message-ID"] in note_mail["References"]
    assert "<first@northwind.example>" in note_mail["References"]
    assert note_mail["Auto-Submitted"] is None
    assert "Reset your password; try now." in note_mail.get_content()
    assert "Tess Tier-One" in note_mail.get_content()
    assert "AD logs" not in "".join(m.get_content() for m in smtp.messages)


def test_an_smtp_failure_is_retried_later_and_the_note_is_sent_once(
    desk, smtp, tier1, ticket_factory, django_capture_on_commit_callbacks
):
    smtp.refuse = 1
    ticket = ticket_factory(title="VPN down")
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(ticket, author=tier1, body="Try the new profile.", internal=False)

    out = OutboundMessage.objects.get(note=note)
    assert (out.status, out.attempts, smtp.messages) == ("pending", 1, [])
    assert "451" in out.last_error
    assert services.flush_outbox() == 0  # not due yet: backoff

    later = timezone.now() + timedelta(minutes=2)
    assert services.flush_outbox(now=later) == 1
    assert services.flush_outbox(now=later + timedelta(hours=1)) == 0
    out.refresh_from_db()
    assert (out.status, out.attempts) == ("sent", 2)
    assert [m["Subject"] for m in smtp.messages] == [f"Re: [#{ticket.pk}] VPN down"]


def test_a_message_being_sent_is_never_sent_by_a_second_worker(desk, smtp, tier1, ticket_factory):
    ticket = ticket_factory()
    note = add_note(ticket, author=tier1, body="On my way.", internal=False)
    out = OutboundMessage.objects.get(note=note)

    assert services.send_one(out.pk) == "sent"
    assert services.send_one(out.pk) == "skipped"
    assert len(smtp.messages) == 1


def test_a_mailed_attachment_over_the_limit_is_left_out_and_the_ticket_says_so(
    mailbox, inbox, settings, django_capture_on_commit_callbacks
):
    settings.REQUESTER_ATTACHMENT_MAX_BYTES = 2048
    inbox.deliver(
        email(
            body="Logs attached.",
            attachments=[("small.txt", "text/plain", b"ok"), ("big.bin", "application/zip", b"x" * 4096)],
        )
    )

    poll(mailbox, django_capture_on_commit_callbacks)

    ticket = Ticket.objects.get()
    assert [a.filename for a in Attachment.objects.filter(ticket=ticket)] == ["small.txt"]
    assert ticket.description == (
        "Logs attached.\n\nThe attachment “big.bin” (4 KiB) was over the 2 KiB limit and was not kept."
    )


def test_sending_gives_up_after_the_last_attempt(desk, smtp, tier1, ticket_factory):
    smtp.refuse = 100
    ticket = ticket_factory()
    note = add_note(ticket, author=tier1, body="Hello?", internal=False)
    out = OutboundMessage.objects.get(note=note)
    now = timezone.now()

    results = []
    for _ in range(services.MAX_SEND_ATTEMPTS):
        now += timedelta(hours=2)
        results.append(services.send_one(out.pk, now=now))

    assert results == ["retry"] * (services.MAX_SEND_ATTEMPTS - 1) + ["failed"]
    out.refresh_from_db()
    assert (out.status, out.attempts) == ("failed", services.MAX_SEND_ATTEMPTS)
    assert services.flush_outbox(now=now + timedelta(days=1)) == 0
    assert smtp.messages == []


def test_a_message_that_fails_to_import_stays_unread_and_the_others_go_ahead(
    mailbox, inbox, desk, django_capture_on_commit_callbacks
):
    from boards.models import Board

    empty = Board.objects.create(name="Nowhere", slug="nowhere")
    inbox.deliver(email(subject="First"), email(subject="Second"))
    first_uid = inbox.uids()[0]
    real_receive = services.receive_message

    def the_first_cannot_land(box, raw, **kwargs):
        if b"Subject: First" in raw:
            box = Mailbox.objects.get(pk=box.pk)
            box.board = empty  # a board without columns: open_ticket refuses
        return real_receive(box, raw, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "receive_message", the_first_cannot_land)
        result = poll(mailbox, django_capture_on_commit_callbacks)

    assert result.counts == {"opened": 1}
    assert "Nowhere board has no columns" in result.error
    assert list(Ticket.objects.values_list("title", flat=True)) == ["Second"]
    assert inbox.uids("UNSEEN") == [first_uid]
    assert not InboundMessage.objects.filter(subject="First").exists()

    assert poll(mailbox, django_capture_on_commit_callbacks).counts == {"opened": 1}
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Second"]


def test_an_address_that_cannot_be_sent_to_gives_up_at_once(desk, smtp, tier1, ticket_factory):
    ticket = ticket_factory()
    Ticket.objects.filter(pk=ticket.pk).update(requester_email="pat@northwind.example\nBcc: all@example.com")
    ticket.refresh_from_db()
    note = add_note(ticket, author=tier1, body="Hello", internal=False)

    assert services.send_one(OutboundMessage.objects.get(note=note).pk) == "failed"
    assert OutboundMessage.objects.get(note=note).status == "failed"
    assert smtp.messages == []
