"""Reading one email: who sent it, what it says, what it answers, and whether a person wrote it.

Pure functions over bytes, no database: ``parse`` returns a ``Parsed`` or
raises ``Unreadable`` with a reason a manager can act on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from .models import message_key

TAG = re.compile(r"\[#(\d{1,12})\]")
MSGID = re.compile(r"<([^<>\s]+)>")


class Unreadable(Exception):
    """The message can't be turned into a ticket; the message says why."""


@dataclass
class Part:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    answers: list[str] = field(default_factory=list)  # In-Reply-To, then References newest first
    attachments: list[Part] = field(default_factory=list)
    automatic: str = ""  # why this is automatic mail (an auto-reply, a bounce, a list), or ""

    @property
    def tagged_ticket(self) -> int | None:
        match = TAG.search(self.subject)
        return int(match.group(1)) if match else None

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2]


def parse(raw: bytes) -> Parsed:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        return _parse(msg, raw)
    except Unreadable:
        raise
    except (LookupError, UnicodeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # The email package raises these on broken headers and unknown charsets.
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None


def _parse(msg: EmailMessage, raw: bytes) -> Parsed:
    if not raw.strip() or not msg.keys():
        raise Unreadable("The message has no headers.")
    name, address = parseaddr(str(msg.get("From", "")))
    address = address.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise Unreadable(f"No sender address in From: {str(msg.get('From', ''))[:200]!r}.")
    message_id = message_key(str(msg.get("Message-ID", "")))
    if not message_id:
        # No Message-ID: the message's own bytes name it, so a second read of it is still a repeat.
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        text = ""
    elif body.get_content_type() == "text/html":
        text = html_to_text(body.get_content())
    else:
        text = body.get_content()
    return Parsed(
        message_id=message_id,
        sender=address,
        sender_name=" ".join(name.split())[:200],
        subject=" ".join(str(msg.get("Subject", "")).split())[:255],
        text=_tidy(text),
        answers=_answers(msg),
        attachments=list(_attachments(msg, body)),
        automatic=automatic_reason(msg, address),
    )


def _answers(msg: EmailMessage) -> list[str]:
    ids = MSGID.findall(str(msg.get("In-Reply-To", "")))
    ids += reversed(MSGID.findall(str(msg.get("References", ""))))
    seen: list[str] = []
    for found in ids:
        key = message_key(found)
        if key not in seen:
            seen.append(key)
    return seen[:50]


def _attachments(msg: EmailMessage, body):
    for part in msg.walk():
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        data = part.get_payload(decode=True) or b""
        yield Part((filename or "attachment").strip()[:255] or "attachment", part.get_content_type()[:100], data)


# --- Loop protection -----------------------------------------------------------

BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")


def automatic_reason(msg: EmailMessage, sender: str) -> str:
    """Why this message was written by a machine (RFC 3834 and the usual headers), or ""."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if msg.get(header) is not None:
            return f"{header} header"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get("List-Id") is not None:
        return "mailing list (List-Id)"
    if msg.get_content_type() == "multipart/report" or sender.startswith(BOUNCE_SENDERS):
        return "a bounce (delivery report)"
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return "a bounce (empty Return-Path)"
    return ""


def addresses(value: str) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([value]) if addr]


# --- Text ----------------------------------------------------------------------

QUOTE_START = re.compile(
    r"^(On .{1,200} wrote:|-{2,} ?Original Message ?-{2,}|_{10,}|From: .+ Sent: .+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def without_quote(text: str) -> str:
    """A reply's own words: cut at the quoted message that mail programs append."""
    match = QUOTE_START.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    lines = text.rstrip().split("\n")
    while lines and lines[-1].startswith(">"):
        lines.pop()
    return _tidy("\n".join(lines)) or _tidy(text)


class _TextExtractor(HTMLParser):
    """HTML to plain text, keeping only the words: script, style and head are dropped,
    blocks become lines, links show their address. Nothing is ever rendered as HTML."""

    SKIP = {"script", "style", "head", "title", "template", "noscript"}
    BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.href: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.BLOCK and tag != "li":
            self.out.append("\n")
        elif tag == "a" and self.href:
            if self.href.startswith(("http://", "https://", "mailto:")):
                self.out.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return _tidy("\n".join(lines))
