from django.apps import AppConfig
from django.db.models.signals import post_delete


class FlowConfig(AppConfig):
    name = "flow"
    verbose_name = "Flow: the map and the gauges"

    def ready(self) -> None:
        from boards.models import Ticket

        from .facts import forget_counts

        # A deleted ticket takes its moves and its per-ticket facts with it (CASCADE), but
        # not its share of the daily counts: stop reading those until the next build.
        post_delete.connect(forget_counts, sender=Ticket, dispatch_uid="flow.facts.forget_counts")
