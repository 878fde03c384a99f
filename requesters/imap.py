"""Reading a mailbox over IMAP (imap-tools): fetch, import, and only then tell the server.

The order is what makes an import exactly-once without a lock:

1. Fetch a message's bytes without marking it read (``BODY.PEEK[]``).
2. Import it in one transaction (``services.receive_message``), which commits
   or not. Its Message-ID, unique per mailbox, makes a second import of the
   same message a repeat.
3. After the commit, flag it read (or move it to the processed folder); an
   unreadable one goes to the errors folder.

A poll killed between 2 and 3 leaves a message imported but unflagged: the
next poll reads it again, finds it a repeat, and only flags it. Two polls at
once both read it; the database lets one import it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags

from . import services
from .models import InboundMessage, Mailbox

log = logging.getLogger(__name__)

Outcome = InboundMessage.Outcome


@dataclass
class PollResult:
    counts: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    error: str = ""

    def add(self, received: services.Received) -> None:
        if received.repeat:
            self.repeats += 1
        else:
            self.counts[received.outcome] = self.counts.get(received.outcome, 0) + 1

    def summary(self) -> dict:
        return {**self.counts, "repeats": self.repeats, **({"error": self.error} if self.error else {})}


def connect(mailbox: Mailbox) -> BaseMailBox:
    kind = {
        Mailbox.Security.SSL: MailBox,
        Mailbox.Security.STARTTLS: MailBoxStartTls,
        Mailbox.Security.NONE: MailBoxUnencrypted,
    }[mailbox.security]
    client = kind(mailbox.host, mailbox.port, timeout=30)
    return client.login(mailbox.username, mailbox.password(), initial_folder=mailbox.folder)


def _fetch_raw(client: BaseMailBox, uid: str) -> bytes | None:
    status, data = client.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged by someone else since the search


class _Server:
    """What the poll tells the server, creating a folder the first time it needs it."""

    def __init__(self, client: BaseMailBox, mailbox: Mailbox) -> None:
        self.client = client
        self.mailbox = mailbox
        self.ready: set[str] = set()

    def _folder(self, name: str) -> str:
        if name not in self.ready:
            if not self.client.folder.exists(name):
                self.client.folder.create(name)
            self.ready.add(name)
        return name

    def done(self, uid: str) -> None:
        self.client.flag(uid, MailMessageFlags.SEEN, True)
        if self.mailbox.processed_folder:
            self.client.move(uid, self._folder(self.mailbox.processed_folder))

    def failed(self, uid: str) -> None:
        self.client.flag(uid, MailMessageFlags.SEEN, True)
        self.client.move(uid, self._folder(self.mailbox.errors_folder))


def poll(
    mailbox: Mailbox,
    *,
    now: datetime | None = None,
    limit: int = 500,
    progress: Callable[[str, services.Received], None] | None = None,
) -> PollResult:
    """Import up to ``limit`` new messages of one mailbox; return what each did."""
    result = PollResult()
    with connect(mailbox) as client:
        server = _Server(client, mailbox)
        # With a processed folder everything left in the folder is new; without
        # one, imported messages stay there flagged \Seen.
        uids = client.uids("ALL" if mailbox.processed_folder else "UNSEEN")[:limit]
        for uid in uids:
            raw = _fetch_raw(client, uid)
            if raw is None:
                continue
            try:
                received = services.receive_message(mailbox, raw, now=now)
            except Exception as exc:
                # Rolled back, and left unread on the server: the next poll
                # tries it again. The other messages go ahead meanwhile.
                log.exception("could not import message %s of %s", uid, mailbox.name)
                result.error = f"message {uid}: {type(exc).__name__}: {exc}"[:2000]
                continue
            # Committed (or a repeat): only now is the server told.
            if received.outcome == Outcome.FAILED:
                server.failed(uid)
            else:
                server.done(uid)
            result.add(received)
            if progress is not None:
                progress(uid, received)
    return result


def poll_and_record(mailbox: Mailbox, **kwargs) -> PollResult:
    """Poll, and note on the mailbox when it was read and what went wrong (shown in admin)."""
    try:
        result = poll(mailbox, **kwargs)
    except Exception as exc:  # one broken mailbox must not stop the others
        log.exception("could not read the mailbox %s", mailbox.name)
        result = PollResult(error=f"{type(exc).__name__}: {exc}"[:2000])
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=result.error)
    return result
