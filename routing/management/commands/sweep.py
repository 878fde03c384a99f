"""Escalate every ticket whose time criterion has fired.

Celery beat runs the same code every minute; this command exists for sites
that schedule with cron instead, and for looking at what is due (--dry-run).
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from boards.models import Ticket
from routing import services


class Command(BaseCommand):
    help = "Escalate every ticket whose time criterion has fired."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what is due; move nothing.")
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, dry_run: bool, batch_size: int, **options):
        now = timezone.now()
        if dry_run:
            due = Ticket.objects.due(now).select_related("board", "deadline_criterion").order_by("deadline_at")
            for ticket in due:
                self.stdout.write(
                    f"{ticket.number} {ticket.board.name} tier {ticket.tier}: "
                    f"{ticket.deadline_criterion} fired at {timezone.localtime(ticket.deadline_at):%Y-%m-%d %H:%M}"
                )
            self.stdout.write(f"{len(due)} ticket(s) due; nothing moved (dry run).")
            return
        moved = services.sweep(now, batch_size=batch_size)
        self.stdout.write(f"{moved} ticket(s) moved.")
