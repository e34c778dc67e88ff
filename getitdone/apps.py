from django.apps import AppConfig


class GetItDoneConfig(AppConfig):
    name = "getitdone"
    verbose_name = "Get It Done"

    def ready(self) -> None:
        # Registered on import: the OpenAPI auth extension, and the path converters the apps'
        # routes use (API.md §11: an id that cannot exist matches no route).
        from getitdone import checks  # noqa: F401  (the production checks)
        from getitdone.api import converters, schema  # noqa: F401
        from getitdone.tracing import configure

        configure("getitdone")
