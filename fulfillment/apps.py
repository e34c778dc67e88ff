from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = "Fulfillment setup"

    def ready(self) -> None:
        from fulfillment import signals  # noqa: F401  (connects the receivers)
