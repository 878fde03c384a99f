"""Read the mailboxes now: what beat does every minute, for cron-only sites and for tests.

``--dry-run`` connects and lists what is waiting without importing anything.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from requesters import imap, services
from requesters.models import Mailbox


class Command(BaseCommand):
    help = "Import new mail from the active mailboxes (or those named), then send the outbox."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", action="append", default=[], help="A mailbox's name; repeat for more.")
        parser.add_argument("--dry-run", action="store_true", help="List waiting messages; import nothing.")

    def handle(self, *args, mailbox: list[str], dry_run: bool, verbosity: int, **options):
        mailboxes = Mailbox.objects.filter(active=True).select_related("board", "column")
        if mailbox:
            mailboxes = Mailbox.objects.filter(name__in=mailbox).select_related("board", "column")
            missing = set(mailbox) - {m.name for m in mailboxes}
            if missing:
                raise CommandError(f"No mailbox named {', '.join(sorted(missing))}.")
        if not mailboxes:
            self.stdout.write("No active mailbox: mail intake is off.")
        for box in mailboxes:
            if dry_run:
                self._list(box)
                continue

            def progress(uid, received, box=box):
                if verbosity >= 2:
                    self.stdout.write(f"{box.name} {uid} {received.outcome} {received.ticket or '-'}")
                    self.stdout.flush()

            result = imap.poll_and_record(box, progress=progress)
            self.stdout.write(f"{box.name}: {result.summary()}")
        if not dry_run:
            self.stdout.write(f"outbox: {services.flush_outbox()} sent")

    def _list(self, box: Mailbox) -> None:
        with imap.connect(box) as client:
            criteria = "ALL" if box.processed_folder else "UNSEEN"
            messages = list(client.fetch(criteria, mark_seen=False, headers_only=True, limit=50))
        self.stdout.write(f"{box.name}: {len(messages)} waiting (first 50 shown)")
        for message in messages:
            self.stdout.write(f"  {message.date_str}  {message.from_}  {message.subject}")
