from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


class FlowConfig(AppConfig):
    name = "flow"
    verbose_name = "Flow: the map and the gauges"

    def ready(self) -> None:
        from boards.models import Note, Ticket

        from .facts import forget_counts, note_deleted, note_edited, note_saving

        # A deleted ticket takes its moves and its per-ticket facts with it (CASCADE), but
        # not its share of the daily counts: stop reading those until the next build.
        post_delete.connect(forget_counts, sender=Ticket, dispatch_uid="flow.facts.ticket_deleted")
        # A note edited or deleted in admin (its minutes, its ticket): the facts that hold its
        # minutes are brought up to date at once (new notes are past the watermark: nothing to do).
        pre_save.connect(note_saving, sender=Note, dispatch_uid="flow.facts.note_saving")
        post_save.connect(note_edited, sender=Note, dispatch_uid="flow.facts.note_edited")
        post_delete.connect(note_deleted, sender=Note, dispatch_uid="flow.facts.note_deleted")
