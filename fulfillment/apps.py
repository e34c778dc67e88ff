from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfillment setup")

    def ready(self) -> None:
        from fulfillment import signals  # noqa: F401  (connects the receivers)
