from django.apps import AppConfig


class GetItDoneConfig(AppConfig):
    name = "getitdone"
    verbose_name = "Get It Done"

    def ready(self) -> None:
        from getitdone.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
