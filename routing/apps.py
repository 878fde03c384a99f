from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing: criteria and moves"

    def ready(self) -> None:
        from .models import Criterion
        from .services import forget_criteria

        post_save.connect(forget_criteria, sender=Criterion, dispatch_uid="routing.forget_criteria.save")
        post_delete.connect(forget_criteria, sender=Criterion, dispatch_uid="routing.forget_criteria.delete")
