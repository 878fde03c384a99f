from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class FlowConfig(AppConfig):
    name = "flow"
    verbose_name = "Flow: the map and the gauges"

    def ready(self) -> None:
        from boards.models import Note, Ticket

        from .facts import forget_counts, note_edited

        # A deleted ticket or note takes its moves and its per-ticket facts with it (CASCADE),
        # but not its share of the daily counts: stop reading those until the next build.
        post_delete.connect(forget_counts, sender=Ticket, dispatch_uid="flow.facts.ticket_deleted")
        post_delete.connect(forget_counts, sender=Note, dispatch_uid="flow.facts.note_deleted")
        # A note edited in admin (its minutes, its ticket) is placed again.
        post_save.connect(note_edited, sender=Note, dispatch_uid="flow.facts.note_edited")
