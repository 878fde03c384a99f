"""Bring the Flow page's precomputed facts up to date now, or rebuild them from scratch.

The beat task ``flow.tasks.build_facts`` does this every minute; this command is
for cron-only sites, for right after loading a lot of history at once (the
demo, an import), and for ``--full`` after restoring a backup or a bulk load
that wrote moves without bumping their tickets' versions. The page is exact
without it (whatever the facts do not cover is computed from the Move log), only
slower.
"""

from django.core.management.base import BaseCommand, CommandError

from boards.models import Ticket
from flow import facts
from routing.models import Move


class Command(BaseCommand):
    help = "Bring the Flow page's precomputed facts up to date (flow.facts)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild every ticket's facts, not only what changed.")
        parser.add_argument("--dry-run", action="store_true", help="Say how far the facts go; build nothing.")

    def handle(self, *args, full: bool, dry_run: bool, **options):
        coverage = facts.Coverage.read()
        if dry_run:
            if not coverage.built:
                self.stdout.write(f"No facts yet: a build would cover {Ticket.objects.count()} tickets.")
                return
            newer = Move.objects.filter(pk__gt=coverage.moves_through)
            self.stdout.write(
                f"Facts built {coverage.built_at:%Y-%m-%d %H:%M:%S %Z}, through move {coverage.moves_through}; "
                f"{newer.count()} newer moves on {newer.values('ticket').distinct().count()} tickets "
                "are counted live until the next build."
            )
            return
        built = facts.build(full=full, check=True)
        if built is None:
            raise CommandError("Another build, or a transaction writing moves, is still running; try again.")
        self.stdout.write(
            f"Facts up to date through move {built.moves_through}: {built.tickets} tickets and "
            f"{built.notes} notes rebuilt in {built.seconds:.1f} s."
        )
