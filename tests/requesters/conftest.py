"""A real IMAP server (Debian's Dovecot) and a real SMTP server (aiosmtpd) for the mail tests.

Dovecot runs as a subprocess with its own configuration in a temporary
directory: one port on 127.0.0.1, passwd-file logins, a maildir per account.
Each test gets its own account, so tests never see each other's mail. When
/usr/sbin/dovecot is missing the IMAP tests are skipped with the reason,
except under REQUIRE_SERVICES (CI), where that is a failure.

The SMTP server is aiosmtpd in this process, on its own thread; Django's SMTP
backend talks to it over a real socket.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.utils import timezone
from imap_tools import MailBoxUnencrypted

from requesters.models import Mailbox
from tests.conftest import REQUIRE_SERVICES

DOVECOT = Path(os.environ.get("DOVECOT_PATH", "/usr/sbin/dovecot"))
# Accounts for a whole session (one per test that reads mail).
ACCOUNTS = 500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    host: str
    port: int
    root: Path
    passwd: Path

    accounts: list[tuple[str, str]] = field(default_factory=list)

    def add_account(self) -> tuple[str, str]:
        """A fresh account: one of those written before Dovecot started (it reads passwd-file once)."""
        return self.accounts.pop()


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to give mail to root: the maildirs belong to nobody.
        uid, gid, users = 65534, 65534, ""
    else:
        uid, gid = os.getuid(), os.getgid()
        import pwd

        name = pwd.getpwuid(uid).pw_name
        users = f"default_login_user = {name}\ndefault_internal_user = {name}\n"
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{users}protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
stats_writer_socket_path =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="session")
def dovecot():
    """A running Dovecot for the whole session."""
    if not DOVECOT.exists():
        message = f"the IMAP tests need Dovecot at {DOVECOT} (apt-get install dovecot-imapd)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's own tmp dir: that is private to us, and Dovecot's
    # processes run as other users.
    root = Path(tempfile.mkdtemp(prefix="switchback_dovecot_"))
    root.chmod(0o755)
    (root / "home").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "home", 65534, 65534)
    passwd = root / "passwd"
    accounts = [(f"desk{n}@example.test", secrets.token_hex(8)) for n in range(ACCOUNTS, 0, -1)]
    passwd.write_text("".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in accounts))
    passwd.chmod(0o644)
    port = free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")], stderr=subprocess.PIPE)
    try:
        give_up = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > give_up:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.fail(f"Dovecot did not start: {proc.stderr.read()!r} {log}")
                time.sleep(0.05)
        yield Dovecot("127.0.0.1", port, root, passwd, accounts)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot):
    return dovecot.add_account()


@pytest.fixture
def mailbox(desk, dovecot, imap_account, monkeypatch) -> Mailbox:
    """A mailbox on Triage reading this test's own Dovecot account."""
    user, password = imap_account
    monkeypatch.setenv("MAILBOX_TEST_PASSWORD", password)
    return Mailbox.objects.create(
        name="Support",
        address=user,
        host=dovecot.host,
        port=dovecot.port,
        security=Mailbox.Security.NONE,
        username=user,
        password_env="MAILBOX_TEST_PASSWORD",
        board=desk.triage,
    )


class Imap:
    """The test's hands on the account: deliver mail, look at folders."""

    def __init__(self, mailbox: Mailbox, password: str) -> None:
        self.mailbox = mailbox
        self.password = password

    def _client(self, folder: str = "INBOX"):
        return MailBoxUnencrypted(self.mailbox.host, self.mailbox.port).login(
            self.mailbox.username, self.password, initial_folder=folder
        )

    def deliver(self, *messages: bytes | EmailMessage) -> None:
        with self._client() as client:
            for message in messages:
                raw = message if isinstance(message, bytes) else message.as_bytes()
                client.append(raw, "INBOX", dt=timezone.now())

    def uids(self, criteria: str = "ALL", folder: str = "INBOX") -> list[str]:
        with self._client() as client:
            if not client.folder.exists(folder):
                return []
            client.folder.set(folder)
            return client.uids(criteria)


@pytest.fixture
def inbox(mailbox, imap_account) -> Imap:
    return Imap(mailbox, imap_account[1])


def email(
    *,
    sender: str = "Pat Requester <pat@northwind.example>",
    to: str = "desk@example.test",
    subject: str = "Can't log in",
    body: str = "My password stopped working this morning.",
    message_id: str | None = None,
    headers: dict | None = None,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain="northwind.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


@dataclass
class SmtpSink:
    """What the SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0  # answer this many DATA commands with a temporary failure first

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, with Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()
