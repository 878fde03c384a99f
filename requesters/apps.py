from django.apps import AppConfig


class RequestersConfig(AppConfig):
    name = "requesters"
    verbose_name = "Requesters: mail, the request form and status pages"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the customer-note mailer)
