"""What requesters do to the desk: open a ticket, reply, mark it solved; and the mail that answers them.

Tickets are opened through ``routing.services.open_ticket``; resolved,
reopened or brought back from waiting through ``move_ticket``; notes go through
``boards.services.add_note``. Every way a requester answers (a threaded email,
a held message let in, the status page) goes through ``add_reply``.

**One message, one transaction.** ``receive_message`` writes the
InboundMessage row first, then the ticket or note, then the acknowledgement in
the outbox, all or nothing. The row's unique (mailbox, Message-ID) makes a
second reading of the same message (an overlapping poll, or a poll after one
that was killed before it flagged the message on the server) a repeat that
changes nothing. Mail goes out only after the commit (``transaction.on_commit``).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import smtplib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from boards.models import Board, Client, Column, Note, Ticket
from boards.services import add_note
from routing.models import Move
from routing.services import move_ticket, open_ticket

from . import parsing
from .models import (
    Attachment,
    ClientDomain,
    InboundMessage,
    Mailbox,
    MailTemplate,
    OutboundMessage,
    RequesterNote,
    RequesterTicket,
    message_key,
    new_status_key,
)

log = logging.getLogger(__name__)

Outcome = InboundMessage.Outcome
Channel = RequesterTicket.Channel

MAX_SEND_ATTEMPTS = 8
STATUS_SALT = "requesters.status"

DEFAULT_TEMPLATES = {
    MailTemplate.Kind.ACKNOWLEDGEMENT: (
        "[{{ ticket.number }}] {{ ticket.title }}",
        "Hello {{ requester_name|default:'there' }},\n\n"
        "We have your request and opened ticket {{ ticket.number }}: {{ ticket.title }}.\n"
        "Reply to this email to add to it.\n\n"
        "Follow it, reply or mark it solved here:\n{{ status_url }}\n\n"
        "— The service desk",
    ),
    MailTemplate.Kind.NOTE: (
        "Re: [{{ ticket.number }}] {{ ticket.title }}",
        "{{ note.body }}\n\n"
        "— {{ author }}, the service desk\n\n"
        "Reply to this email to answer, or see the whole ticket here:\n{{ status_url }}",
    ),
}


# --- Who is speaking ----------------------------------------------------------------

_requester_speaking = contextvars.ContextVar("requester_speaking", default=False)


@contextmanager
def requester_speaking():
    """Notes written inside this block are the requester's own words: they are not mailed back."""
    token = _requester_speaking.set(True)
    try:
        yield
    finally:
        _requester_speaking.reset(token)


def is_requester_speaking() -> bool:
    return _requester_speaking.get()


# --- The status link ----------------------------------------------------------------


def status_token(link: RequesterTicket) -> str:
    return signing.dumps([link.ticket_id, link.status_key], salt=STATUS_SALT, compress=False)


def status_url(link: RequesterTicket) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("request_status", args=[status_token(link)])


def link_for_token(token: str) -> RequesterTicket | None:
    """The ticket link a status token opens: None when forged, revoked or replaced by a newer link."""
    try:
        ticket_id, key = signing.loads(token, salt=STATUS_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    link = RequesterTicket.objects.select_related("ticket").filter(ticket_id=ticket_id).first()
    if link is None or link.revoked or link.status_key != key:
        return None
    return link


def revoke_link(link: RequesterTicket, *, now: datetime | None = None) -> None:
    link.revoked_at = now or timezone.now()
    link.save(update_fields=["revoked_at"])


def renew_link(link: RequesterTicket) -> RequesterTicket:
    """A new status link: every older one stops working."""
    link.status_key = new_status_key()
    link.revoked_at = None
    link.save(update_fields=["status_key", "revoked_at"])
    return link


def link_for_ticket(ticket: Ticket) -> RequesterTicket | None:
    """The ticket's requester link, made on first need for a ticket opened at the desk with a requester address."""
    link = RequesterTicket.objects.filter(ticket=ticket).first()
    if link is None and ticket.requester_email:
        link, _ = RequesterTicket.objects.get_or_create(
            ticket=ticket, defaults={"channel": Channel.DESK, "email": ticket.requester_email.lower()}
        )
    return link


# --- Opening and replying -------------------------------------------------------------


def client_for(email: str) -> Client | None:
    domain = email.rpartition("@")[2].lower()
    found = ClientDomain.objects.select_related("client").filter(domain=domain).first()
    return found.client if found else None


def _store_attachments(ticket: Ticket, parts: Iterable[parsing.Part], now: datetime) -> list[str]:
    """Keep the attachments within the size limit; return a line for each one left out."""
    limit = settings.REQUESTER_ATTACHMENT_MAX_BYTES
    left_out = []
    for part in parts:
        if len(part.data) > limit:
            left_out.append(
                f"The attachment “{part.filename}” ({len(part.data) // 1024} KiB) was over the "
                f"{limit // 1024} KiB limit and was not kept."
            )
            continue
        Attachment.objects.create(
            ticket=ticket,
            filename=part.filename,
            content_type=part.content_type or "application/octet-stream",
            size=len(part.data),
            data=part.data,
            created_at=now,
        )
    return left_out


def open_request(
    *,
    board: Board,
    column: Column | None = None,
    channel: str,
    name: str,
    email: str,
    subject: str,
    text: str,
    attachments: Iterable[parsing.Part] = (),
    mailbox: Mailbox | None = None,
    in_reply_to: str = "",
    acknowledge: bool = True,
    client_address: str | None = None,
    now: datetime,
) -> Ticket:
    """Open a ticket for a requester, keep their attachments and queue the acknowledgement."""
    email = email.lower()
    name = " ".join(name.split())  # never a line break in a mail header
    with transaction.atomic():
        ticket = Ticket(
            board=board,
            column=column,
            title=Truncator(subject.strip() or "(no subject)").chars(200),
            description=text,
            requester_name=name[:120],
            requester_email=email,
            client=client_for(email),
            source=Ticket.Source.EMAIL if channel == Channel.EMAIL else Ticket.Source.PORTAL,
        )
        open_ticket(ticket, actor=None, now=now)
        left_out = _store_attachments(ticket, attachments, now)
        if left_out:
            ticket.description = "\n\n".join([text, *left_out]).strip()
            ticket.save(update_fields=["description"])
        link = RequesterTicket.objects.create(
            ticket=ticket, channel=channel, mailbox=mailbox, email=email, client_address=client_address, created_at=now
        )
        if acknowledge:
            queue_mail(
                link,
                kind=OutboundMessage.Kind.ACKNOWLEDGEMENT,
                context={"requester_name": name},
                in_reply_to=in_reply_to,
                now=now,
            )
    return ticket


@dataclass
class Reply:
    """What a requester's reply did: the note it became, and the move it caused (None: the ticket stayed)."""

    note: Note
    move: Move | None = None

    @property
    def reopened(self) -> bool:
        return self.move is not None and self.move.from_column.is_done


def _after_reply(ticket: Ticket) -> tuple[Column | None, str]:
    """Where a requester's reply sends the ticket, and what the Move says about it; (None, "") when it stays.

    A resolved ticket reopens into its board's entry column. A ticket in a
    waiting column that waits on the requester (``Column.resumes_on_reply``:
    "Waiting on customer", not "Waiting on vendor" or "Scheduled / Onsite")
    goes back to work: the board's first active column, else its entry
    column. A ticket being worked on, or waiting on someone else, stays.
    """
    column = ticket.column
    if not ticket.is_open:
        return ticket.board.entry_column(), "Reopened"
    if column.category == Column.Category.WAITING and column.resumes_on_reply:
        back = ticket.board.first_column(Column.Category.ACTIVE) or ticket.board.entry_column()
        return back, f"Back from “{column.name}”"
    return None, ""


def add_reply(
    ticket: Ticket,
    *,
    text: str,
    via: str,
    sender: str,
    sender_name: str = "",
    attachments: Iterable[parsing.Part] = (),
    now: datetime,
) -> Reply:
    """The requester's words reach the ticket: every way a requester answers (mail, status page) comes here.

    1. Lock the ticket; keep the attachments within the limit.
    2. Write a customer-visible note, marked as theirs with who wrote it
       (``RequesterNote``), and never mailed back to them.
    3. A resolved ticket, or one waiting on the customer, moves back to work
       through the one door (``_after_reply``), the Move saying why; its
       assignee (else the board's technicians) is emailed after the commit.
    """
    sender = sender.lower()
    sender_name = " ".join(sender_name.split())[:200]
    who = formataddr((sender_name, sender)) if sender_name else sender
    where = "by email" if via == Channel.EMAIL else "on the status page"
    with transaction.atomic():
        locked = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
        left_out = _store_attachments(locked, attachments, now)
        body = "\n\n".join([f"{who} wrote {where}:", text.strip() or "(no text)", *left_out])
        with requester_speaking():
            note = add_note(locked, author=None, body=body, internal=False, now=now)
        RequesterNote.objects.create(note=note, via=via, name=sender_name, email=sender)
        reply = Reply(note)
        to_column, why = _after_reply(locked)
        if to_column is not None:
            reply.move = move_ticket(
                locked.pk,
                actor=None,
                expected_version=None,
                to_column=to_column,
                note=f"{why}: the requester replied {where}.",
                now=now,
            )
        if reply.move is not None:
            from .tasks import notify_reply

            move_id = reply.move.pk
            # Robust, as the move's own notice: a broker that is down loses an email, never the reply.
            transaction.on_commit(lambda: notify_reply.delay(move_id, note.pk), robust=True)
    return reply


def requester_words(note: Note) -> str:
    """A requester's note without the line naming them (the status page says “You”)."""
    return note.body.split("\n\n", 1)[1] if "\n\n" in note.body else note.body


def mark_solved(link: RequesterTicket, *, now: datetime | None = None) -> bool:
    """The requester says it is solved: resolve through the one door. False when it already was."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_related("board").get(pk=link.ticket_id)
    if not ticket.is_open:
        return False
    done = ticket.board.first_column(Column.Category.DONE)
    if done is None:
        return False
    move = move_ticket(
        ticket.pk,
        actor=None,
        expected_version=None,
        to_column=done,
        note="Marked solved by the requester on the status page.",
        now=now,
    )
    return move is not None


# --- One message from a mailbox ---------------------------------------------------------


@dataclass
class Received:
    """What one message did: its outcome, and whether it had been read before (``repeat``)."""

    outcome: str
    ticket: int | None = None
    reason: str = ""
    repeat: bool = False


def _sender_over_limit(mailbox: Mailbox, sender: str, now: datetime, this: InboundMessage) -> bool:
    recent = InboundMessage.objects.exclude(pk=this.pk).filter(
        mailbox=mailbox,
        sender=sender,
        received_at__gte=now - timedelta(hours=1),
        outcome__in=[Outcome.OPENED, Outcome.REPLY],
    )
    return recent.count() >= settings.REQUESTER_SENDER_LIMIT_PER_HOUR


def thread_of(parsed: parsing.Parsed) -> Ticket | None:
    """The ticket a message answers: by the Message-IDs it names, else by a [#123] tag.

    A tag alone is trusted only from the ticket's requester or its client's
    domain; a Message-ID is known only to those who received the mail.
    """
    if parsed.answers:
        found = dict(
            OutboundMessage.objects.filter(message_id__in=parsed.answers).values_list("message_id", "ticket_id")
        )
        found.update(
            InboundMessage.objects.filter(message_id__in=parsed.answers, ticket__isnull=False)
            .exclude(message_id__in=found.keys())
            .values_list("message_id", "ticket_id")
        )
        for answer in parsed.answers:
            if answer in found:
                return Ticket.objects.filter(pk=found[answer]).first()
    number = parsed.tagged_ticket
    if number is not None:
        ticket = Ticket.objects.select_related("client").filter(pk=number).first()
        if ticket is not None and (
            ticket.requester_email.lower() == parsed.sender
            or ClientDomain.objects.filter(client_id=ticket.client_id, domain=parsed.domain).exists()
        ):
            return ticket
    return None


def receive_message(mailbox: Mailbox, raw: bytes, *, now: datetime | None = None) -> Received:
    """Turn one message into a ticket, a reply, or a record of why not; all in one transaction.

    1. Parse. A message that can't be read is kept whole (raw) as FAILED.
    2. Insert the InboundMessage row in a savepoint: the unique (mailbox,
       Message-ID) refuses a message read before, which is then a repeat.
    3. Automatic mail (auto-replies, bounces, lists) and senders over the rate
       limit open nothing and get nothing back; held mail is kept whole.
    4. A reply (threaded by headers or tag) becomes a customer note and may
       reopen its ticket; anything else opens a ticket and queues the
       acknowledgement, which leaves after the commit.
    """
    now = now or timezone.now()
    try:
        parsed = parsing.parse(raw)
    except parsing.Unreadable as exc:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
        return _record(mailbox, key, now, outcome=Outcome.FAILED, reason=str(exc), raw=raw)

    with transaction.atomic():
        received = _record(
            mailbox,
            parsed.message_id,
            now,
            outcome=Outcome.OPENED,
            sender=parsed.sender,
            sender_name=parsed.sender_name,
            subject=parsed.subject,
        )
        if received.repeat:
            return received
        record = InboundMessage.objects.get(mailbox=mailbox, message_id=parsed.message_id)
        desk_addresses = set(Mailbox.objects.values_list("address", flat=True))
        if parsed.automatic or parsed.sender in {a.lower() for a in desk_addresses}:
            record.outcome = Outcome.IGNORED
            record.reason = parsed.automatic or "sent by the desk itself"
        elif _sender_over_limit(mailbox, parsed.sender, now, record):
            record.outcome = Outcome.LIMITED
            record.reason = f"more than {settings.REQUESTER_SENDER_LIMIT_PER_HOUR} messages from this sender in an hour"
            record.raw = raw
        else:
            _deliver(mailbox, parsed, record, now)
        record.save()
    return Received(record.outcome, record.ticket_id, record.reason)


def _deliver(mailbox: Mailbox, parsed: parsing.Parsed, record: InboundMessage, now: datetime) -> None:
    """A person's message reaches the desk: a note on the ticket it answers, else a new ticket."""
    ticket = thread_of(parsed)
    if ticket is not None:
        record.note = add_reply(
            ticket,
            text=parsing.without_quote(parsed.text),
            via=Channel.EMAIL,
            sender=parsed.sender,
            sender_name=parsed.sender_name,
            attachments=parsed.attachments,
            now=now,
        ).note
        record.outcome = Outcome.REPLY
    else:
        ticket = open_request(
            board=mailbox.board,
            column=mailbox.entry_column(),
            channel=Channel.EMAIL,
            name=parsed.sender_name,
            email=parsed.sender,
            subject=parsed.subject,
            text=parsed.text,
            attachments=parsed.attachments,
            mailbox=mailbox,
            in_reply_to=parsed.message_id,
            acknowledge=mailbox.send_acknowledgements,
            now=now,
        )
        record.outcome = Outcome.OPENED
    record.ticket = ticket
    record.reason = ""


def release_held(record: InboundMessage, *, now: datetime | None = None) -> bool:
    """A manager lets a message held by the rate limit in after all. False when it is not held (any more)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update(of=("self",)).select_related("mailbox__board")
        locked = locked.filter(pk=record.pk)
        locked = locked.filter(outcome=Outcome.LIMITED).first()
        if locked is None:
            return False
        _deliver(locked.mailbox, parsing.parse(bytes(locked.raw)), locked, now)
        locked.raw = None
        locked.save()
    return True


def _record(mailbox: Mailbox, key: str, now: datetime, *, outcome: str, **fields) -> Received:
    """Insert the message's row, or find that it was read before (a repeat)."""
    try:
        with transaction.atomic():
            InboundMessage.objects.create(mailbox=mailbox, message_id=key, outcome=outcome, received_at=now, **fields)
    except IntegrityError:
        # On PostgreSQL a concurrent reader of the same message waits here for
        # the first to commit, then finds its row.
        seen = InboundMessage.objects.filter(mailbox=mailbox, message_id=key).first()
        if seen is None:
            raise
        return Received(seen.outcome, seen.ticket_id, seen.reason, repeat=True)
    return Received(outcome, None, fields.get("reason", ""))


# --- Outgoing mail ----------------------------------------------------------------------


def _render(kind: str, context: dict) -> tuple[str, str]:
    found = MailTemplate.objects.filter(kind=kind).first()
    subject, body = (found.subject, found.body) if found else DEFAULT_TEMPLATES[kind]
    try:
        ctx = Context(context, autoescape=False)
        return " ".join(Template(subject).render(ctx).split()), Template(body).render(ctx)
    except TemplateSyntaxError:
        log.exception("the %s mail template does not render; using the default", kind)
        ctx = Context(context, autoescape=False)
        subject, body = DEFAULT_TEMPLATES[kind]
        return " ".join(Template(subject).render(ctx).split()), Template(body).render(ctx)


def _sender_mailbox(link: RequesterTicket) -> Mailbox | None:
    if link.mailbox_id:
        return link.mailbox
    return Mailbox.objects.filter(active=True, board_id=link.ticket.board_id).first() or (
        Mailbox.objects.filter(active=True).first()
    )


def queue_mail(
    link: RequesterTicket,
    *,
    kind: str,
    context: dict | None = None,
    note: Note | None = None,
    in_reply_to: str = "",
    now: datetime | None = None,
) -> OutboundMessage:
    """Write a message to the requester into the outbox; a task sends it after the commit."""
    now = now or timezone.now()
    ticket = link.ticket
    mailbox = _sender_mailbox(link)
    from_address = mailbox.address if mailbox else settings.DEFAULT_FROM_EMAIL
    domain = from_address.rpartition("@")[2].strip("> ") or "switchback.invalid"
    sent = OutboundMessage.objects.filter(ticket=ticket).order_by("created_at", "pk")
    received = InboundMessage.objects.filter(ticket=ticket).order_by("received_at", "pk")
    thread = [*sent.values_list("message_id", flat=True), *received.values_list("message_id", flat=True)]
    if in_reply_to and in_reply_to not in thread:
        thread.append(in_reply_to)
    parent = in_reply_to or _latest_message(ticket)
    references = [*thread[:1], *thread[-9:]] if thread else []
    subject, body = _render(
        kind,
        {
            "ticket": ticket,
            "requester_name": ticket.requester_name,
            # A revoked link stays revoked until someone at the desk issues a new one.
            "status_url": "" if link.revoked else status_url(link),
            "note": note,
            "author": (note.author.get_full_name() or note.author.username) if note and note.author else "Switchback",
            **(context or {}),
        },
    )
    outbound = OutboundMessage.objects.create(
        ticket=ticket,
        note=note,
        kind=kind,
        from_address=from_address,
        to=formataddr((ticket.requester_name, ticket.requester_email or link.email)),
        subject=subject[:300],
        body=body,
        message_id=message_key(make_msgid("sb", domain=domain)),
        in_reply_to=parent,
        references=" ".join(f"<{r}>" for r in dict.fromkeys(references)),
        automatic=kind == OutboundMessage.Kind.ACKNOWLEDGEMENT,
        created_at=now,
        next_attempt_at=now,
    )
    from .tasks import send_outbound

    pk = outbound.pk
    # Robust: a broker that is down must not undo the ticket; the outbox flush
    # (every minute) sends what is still pending.
    transaction.on_commit(lambda: send_outbound.delay(pk), robust=True)
    return outbound


def _latest_message(ticket: Ticket) -> str:
    inbound = InboundMessage.objects.filter(ticket=ticket).order_by("-received_at", "-pk").first()
    outbound = OutboundMessage.objects.filter(ticket=ticket).order_by("-created_at", "-pk").first()
    if inbound and (outbound is None or inbound.received_at >= outbound.created_at):
        return inbound.message_id
    return outbound.message_id if outbound else ""


def queue_note_mail(note: Note) -> OutboundMessage | None:
    """A technician's customer-visible note, mailed to the requester. Internal notes never are."""
    if note.internal or is_requester_speaking():
        return None
    link = link_for_ticket(note.ticket)
    if link is None:
        return None
    return queue_mail(link, kind=OutboundMessage.Kind.NOTE, note=note, now=note.created_at)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def send_one(pk: int, *, now: datetime | None = None) -> str:
    """Send one outbox message; return ``sent``, ``retry``, ``failed`` or ``skipped``.

    1. Claim it: pending → sending, one conditional UPDATE. Zero rows means
       another worker has it, or it is sent, or not due: nothing to do.
    2. Send over SMTP (or whatever EMAIL_BACKEND says).
    3. Sent: record it. An SMTP or network error: back to pending with the
       next attempt after a growing pause, or give up after MAX_SEND_ATTEMPTS.
    """
    now = now or timezone.now()
    claimed = OutboundMessage.objects.filter(
        pk=pk, status=OutboundMessage.Status.PENDING, next_attempt_at__lte=now
    ).update(status=OutboundMessage.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    out = OutboundMessage.objects.get(pk=pk)
    headers = {"Message-ID": f"<{out.message_id}>"}
    if out.in_reply_to:
        headers["In-Reply-To"] = f"<{out.in_reply_to}>"
    if out.references:
        headers["References"] = out.references
    if out.automatic:
        headers["Auto-Submitted"] = "auto-replied"
    message = EmailMessage(
        subject=out.subject,
        body=out.body,
        from_email=out.from_address,
        to=[out.to],
        reply_to=[out.from_address],
        headers=headers,
    )
    try:
        message.send(fail_silently=False)
    except ValueError as exc:
        # An address Django refuses to put in a header: no retry can help.
        out.status, out.last_error = OutboundMessage.Status.FAILED, f"ValueError: {exc}"[:2000]
        out.save(update_fields=["status", "last_error"])
        log.error("cannot send %s to %r: %s", out.subject, out.to, exc)
        return "failed"
    except (smtplib.SMTPException, OSError) as exc:
        out.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if out.attempts >= MAX_SEND_ATTEMPTS:
            out.status = OutboundMessage.Status.FAILED
            log.error("gave up sending %s to %s: %s", out.subject, out.to, out.last_error)
        else:
            out.status = OutboundMessage.Status.PENDING
            out.next_attempt_at = now + backoff(out.attempts)
            log.warning("sending %s to %s failed, retrying: %s", out.subject, out.to, out.last_error)
        out.save(update_fields=["status", "last_error", "next_attempt_at"])
        return "failed" if out.status == OutboundMessage.Status.FAILED else "retry"
    out.status, out.sent_at, out.last_error = OutboundMessage.Status.SENT, timezone.now(), ""
    out.save(update_fields=["status", "sent_at", "last_error"])
    return "sent"


def flush_outbox(*, now: datetime | None = None, limit: int = 100) -> int:
    """Send what is due (first tries whose task was lost, and retries); return how many were sent."""
    now = now or timezone.now()
    due = list(OutboundMessage.objects.due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(send_one(pk, now=now) == "sent" for pk in due)
