"""The people a ticket is for: their mail in and out, the request form and the status page.

Tickets are opened, resolved and reopened only through ``routing.services``;
these models hold where mail comes from (mailboxes), what arrived and what it
became (inbound messages, attachments), what goes out (the outbox), and the
key to each requester's status page.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from boards.models import Board, Client, Column, Note, Ticket

ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class MailboxError(Exception):
    """A mailbox that cannot be read as configured; the message is for the manager."""


def message_key(message_id: str) -> str:
    """A Message-ID as stored: without its angle brackets, and hashed when it is too long to index."""
    key = message_id.strip().strip("<>").strip()
    if len(key) > 250:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def new_status_key() -> str:
    return secrets.token_hex(16)


class ClientDomain(models.Model):
    """A mail domain of a client: a message from it opens a ticket for that client."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="mail_domains")
    domain = models.CharField(max_length=253, unique=True, help_text="e.g. northwind.example (no @).")

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        if not DOMAIN.fullmatch(self.domain):
            raise ValidationError({"domain": "A domain name such as northwind.example."})


class Mailbox(models.Model):
    """An IMAP mailbox the desk reads every minute; new messages open tickets on its board."""

    class Security(models.TextChoices):
        SSL = "ssl", "TLS (IMAPS, usually port 993)"
        STARTTLS = "starttls", "STARTTLS (usually port 143)"
        NONE = "none", "None (a server on this machine only)"

    name = models.CharField(max_length=80, unique=True)
    address = models.EmailField(help_text="The desk's address here: mail about its tickets is sent from it.")
    active = models.BooleanField(default=True, help_text="Only active mailboxes are read.")
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=254)
    password_env = models.CharField(
        "password variable",
        max_length=100,
        help_text="The environment variable that holds the password, e.g. MAILBOX_SUPPORT_PASSWORD. "
        "The password itself is never stored here.",
    )
    folder = models.CharField(max_length=200, default="INBOX", help_text="The folder new mail arrives in.")
    processed_folder = models.CharField(
        max_length=200,
        blank=True,
        help_text="Move imported messages here. Empty: they stay in the folder, flagged as read, "
        "and only unread messages are imported.",
    )
    errors_folder = models.CharField(
        max_length=200, default="Switchback-errors", help_text="Messages that can't be read are moved here."
    )
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="mailboxes")
    column = models.ForeignKey(
        Column,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where new tickets land; empty for the board's entry column.",
    )
    send_acknowledgements = models.BooleanField(
        default=True, help_text="Answer each new ticket with the acknowledgement template."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    def clean(self) -> None:
        if self.column_id and self.board_id and self.column.board_id != self.board_id:
            raise ValidationError({"column": f"{self.column} is not a column of the {self.board} board."})
        if not ENV_NAME.fullmatch(self.password_env or ""):
            raise ValidationError({"password_env": "An environment variable's name: capitals, digits and _."})

    def password(self) -> str:
        value = os.environ.get(self.password_env, "")
        if not value:
            raise MailboxError(f"{self.password_env}, the password of the mailbox {self.name}, is not set.")
        return value

    def entry_column(self) -> Column | None:
        return self.column or self.board.entry_column()


class RequesterTicket(models.Model):
    """A ticket someone outside the desk follows: how it came in, and the key to its status page.

    The status link is signed with SECRET_KEY and carries ``status_key``:
    revoking clears the key's validity, a new link gets a new key, and any
    older link stops working. It never expires on its own (the life of the
    ticket).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        FORM = "form", "Request form"
        DESK = "desk", "Opened at the desk"

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="requester_link")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(help_text="The requester's address, in lower case.")
    # Where a request form was sent from: the form's limit per network address.
    client_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    status_key = models.CharField(max_length=32, default=new_status_key, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            # The request form's rate limit: requests from one address in the last hour.
            models.Index(fields=["email", "channel", "created_at"], name="requester_email_recent_idx"),
            # ... and from one network address.
            models.Index(fields=["client_address", "created_at"], name="requester_address_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} for {self.email}"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class InboundMessage(models.Model):
    """One message read from a mailbox, and what it became.

    The unique (mailbox, message_id) is what makes an import happen once: the
    row is written in the same transaction as the ticket or note, so a second
    poll that reads the same message (overlapping, or after one was killed
    before it could flag the message on the server) fails to insert it and
    only flags it.
    """

    class Outcome(models.TextChoices):
        OPENED = "opened", "Opened a ticket"
        REPLY = "reply", "Added to a ticket"
        IGNORED = "ignored", "Ignored (automatic mail)"
        LIMITED = "limited", "Held (sender over the rate limit)"
        FAILED = "failed", "Could not be read"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=255)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    sender = models.CharField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.OneToOneField(Note, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The message as it arrived, kept when it opened nothing (unreadable, held)
    # so that nothing is lost: admin offers it as a .eml download.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="inbound_message_once_per_mailbox"),
        ]
        indexes = [
            # Threading: which ticket a reply's In-Reply-To/References belong to.
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
            # The per-sender rate limit: a sender's messages in the last hour.
            models.Index(fields=["mailbox", "sender", "received_at"], name="inbound_sender_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender or 'unknown sender'}: {self.subject or self.message_id}"


class UnreadableMessage(InboundMessage):
    """The errors list in admin: messages that could not be read, kept whole."""

    class Meta:
        proxy = True
        verbose_name = "unreadable message"


class RequesterNote(models.Model):
    """Marks a customer-visible note as written by the requester (by mail or on the status page), and who wrote it.

    The note has no author (a requester is not a user): the timelines name the
    person from here (``display_name``), as they signed at the time.
    """

    note = models.OneToOneField(Note, on_delete=models.CASCADE, primary_key=True, related_name="requester_mark")
    via = models.CharField(max_length=10, choices=RequesterTicket.Channel.choices)
    name = models.CharField(max_length=200, blank=True, help_text="The name they gave, if any.")
    email = models.EmailField(blank=True, help_text="The address they wrote from, in lower case.")

    def __str__(self) -> str:
        return f"Requester note {self.note_id}"

    @property
    def display_name(self) -> str:
        """The requester's name, else their address."""
        return self.name or self.email or "the requester"


class Attachment(models.Model):
    """A file a requester sent. Kept in the database, in the ticket's transaction, so an import
    is whole or absent; downloads are for technicians of the ticket's board only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.PositiveIntegerField()
    data = models.BinaryField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.filename


class OutboundQuerySet(models.QuerySet):
    def due(self, now) -> OutboundQuerySet:
        return self.filter(status=OutboundMessage.Status.PENDING, next_attempt_at__lte=now)


class OutboundMessage(models.Model):
    """A message to a requester: written in the transaction that caused it, sent by a task after it.

    Sending claims the row first (pending → sending, one conditional UPDATE),
    so two workers never send the same message. A worker that dies after the
    claim leaves it on "sending": it is not sent again by itself (a manager
    may choose to, in admin), because it may have left already.
    """

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "ack", "Acknowledgement"
        NOTE = "note", "Note to the requester"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbound_mail")
    # One email per note, held by the database.
    note = models.OneToOneField(Note, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_address = models.CharField(max_length=300)
    to = models.CharField(max_length=300)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    automatic = models.BooleanField(default=False, help_text="Sent with Auto-Submitted: auto-replied.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The outbox flush: OutboundMessage.objects.due(now).
            models.Index(fields=["next_attempt_at"], name="outbound_pending_idx", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}: {self.subject}"


class MailTemplate(models.Model):
    """The words of automatic mail, edited by managers in admin (Django template syntax)."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "ack", "Acknowledgement of a new ticket"
        NOTE = "note", "A note to the requester"

    kind = models.CharField(max_length=10, choices=Kind.choices, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(
        help_text="Plain text. Available: {{ ticket.number }}, {{ ticket.title }}, {{ requester_name }}, "
        "{{ status_url }}, and for notes {{ note.body }} and {{ author }}."
    )

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class RequestForm(models.Model):
    """The public request form's settings (one row)."""

    board = models.ForeignKey(
        Board,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where requests land; empty for Triage (or the first board).",
    )
    offered_boards = models.ManyToManyField(
        Board,
        blank=True,
        related_name="+",
        help_text="Boards a requester may choose between on the form. None: the form shows no choice.",
    )
    limit_per_hour = models.PositiveSmallIntegerField(
        default=5, help_text="Requests one email address may send in an hour."
    )
    address_limit_per_hour = models.PositiveSmallIntegerField(
        default=20,
        help_text="Requests one network address may send in an hour, whatever email they give "
        "(an office behind one address shares it).",
    )

    class Meta:
        verbose_name = "request form"

    def __str__(self) -> str:
        return "Request form settings"

    @classmethod
    def current(cls) -> RequestForm:
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def landing_board(self) -> Board | None:
        return self.board or Board.objects.filter(slug="triage").first() or Board.objects.first()
