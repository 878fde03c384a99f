from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BoardsConfig(AppConfig):
    name = "boards"

    def ready(self) -> None:
        from .roles import ensure_roles

        # Permissions exist only after migrate has run, so the groups are
        # (re)made then rather than in a data migration.
        post_migrate.connect(ensure_roles, dispatch_uid="boards.ensure_roles")
