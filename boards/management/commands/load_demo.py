"""Load the demo desk: the seed's boards and criteria, a team, customers, tickets, and their history.

`make run` calls this on every start so a fresh laptop opens onto a working
desk. It is idempotent — whatever exists is left alone — so running it again
(or on a desk people have been using) creates nothing twice.

``--history-days`` (default 90) sizes the older history that makes the Flow
page's map and gauges worth looking at: a few thousand tickets, each played
through the same move service as a technician's drag, so the first load takes
a while (the command reports its progress; later runs skip it). Tests and
quick looks pass a small number, or 0 for none. ``--history-in-background``
(what `make run` uses) loads this week's desk at once and leaves the history
to the Celery worker, so the desk opens in seconds and the Flow page fills in
over the next few minutes.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from boards.demo import DEFAULT_HISTORY_DAYS, DEMO_URL, history_loaded, history_specs, load_demo
from intake.demo import curl_command


class Command(BaseCommand):
    help = "Create the demo boards, people, clients, tickets and their history (skips whatever exists)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would be created; save nothing.")
        parser.add_argument(
            "--history-days",
            type=int,
            default=DEFAULT_HISTORY_DAYS,
            help=f"Days of older history for the Flow page (default {DEFAULT_HISTORY_DAYS}; 0 for none).",
        )
        parser.add_argument(
            "--history-in-background",
            action="store_true",
            help="Queue the history for the Celery worker instead of writing it now (make run does).",
        )

    def handle(self, *args, dry_run: bool, history_days: int, history_in_background: bool, **options):
        if history_days < 0:
            raise CommandError("--history-days must be 0 or more.")
        queued = False
        if history_in_background and not dry_run:
            if history_days and not history_loaded(history_specs(timezone.now(), history_days)):
                from boards.tasks import load_demo_history

                load_demo_history.delay(history_days)
                queued = True
            history_days = 0

        def progress(done: int, total: int) -> None:
            if done == 0:
                self.stdout.write(
                    f"Writing {total} tickets of history through the move service, once (later runs skip it)…"
                )
            else:
                self.stdout.write(f"  history: {done} of {total} tickets")

        result = load_demo(dry_run=dry_run, history_days=history_days, progress=progress)
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{verb} {result.tickets_created} demo ticket(s); {result.tickets_skipped} already existed. "
            f"The desk has {result.boards} boards and {result.tickets} tickets."
        )
        if result.history_skipped:
            self.stdout.write("The history was loaded before; left as it is.")
        elif result.history_problem:
            self.stdout.write(
                self.style.WARNING(
                    f"The history was left out: it is written for the seed's criteria. {result.history_problem}"
                )
            )
        elif history_days:
            self.stdout.write(f"{verb} {result.history_created} ticket(s) of history over {history_days} days.")
        if queued:
            self.stdout.write(
                "The Celery worker is writing the older history for the Flow page now; "
                "its figures fill in over the next few minutes."
            )
        width = max(len("username"), *(len(login.username) for login in result.logins))
        self.stdout.write("")
        self.stdout.write(f"  {'username':<{width}}  {'password':<12}  role")
        for login in result.logins:
            password = login.password if login.created else f"{login.password}*"
            self.stdout.write(f"  {login.username:<{width}}  {password:<12}  {login.role}")
        if not all(login.created for login in result.logins):
            self.stdout.write("  * an account that already existed keeps its current password.")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"  Open {DEMO_URL} and log in with one of the accounts above."))
        curl = None if dry_run else curl_command(DEMO_URL)
        if curl:
            self.stdout.write("")
            self.stdout.write("  Fire a sample monitoring alert and watch a ticket appear on the NOC board:")
            self.stdout.write("")
            self.stdout.write("    " + curl.replace("\n", "\n    "))
            self.stdout.write("")
            self.stdout.write(
                '  Send it again: nothing new (one ticket per alert). With "resolved" for "firing", it resolves.'
            )
        if dry_run:
            self.stdout.write("  (dry run: nothing was saved)")
