"""Load the demo desk: the seed's boards and criteria, a team, customers and tickets.

`make run` calls this on every start so a fresh laptop opens onto a working
desk. It is idempotent — whatever exists is left alone — so running it again
(or on a desk people have been using) creates nothing twice.
"""

from django.core.management.base import BaseCommand

from boards.demo import DEMO_URL, load_demo


class Command(BaseCommand):
    help = "Create the demo boards, people, clients and tickets (skips whatever exists)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would be created; save nothing.")

    def handle(self, *args, dry_run: bool, **options):
        result = load_demo(dry_run=dry_run)
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{verb} {result.tickets_created} demo ticket(s); {result.tickets_skipped} already existed. "
            f"The desk has {result.boards} boards and {result.tickets} tickets."
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
        if dry_run:
            self.stdout.write("  (dry run: nothing was saved)")
