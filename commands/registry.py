"""The command types: every subclass of BaseCommand, keyed by its `type`.

Adding a type is one class here-abouts: its input serializer and its `handle`, which calls the
same `orders` services the REST endpoints use. Nothing else needs to change.
"""

from typing import Any, ClassVar

from rest_framework import serializers

from commands.models import Command
from webhooks.models import Event

REGISTRY: dict[str, type["BaseCommand"]] = {}


class BaseCommand:
    type: ClassVar[str]
    serializer_class: ClassVar[type[serializers.Serializer]]
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.type] = cls

    @classmethod
    def issue_key(cls, data: dict[str, Any]) -> str:
        return str(data.get("client_issue_id", ""))

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        """Call one `orders` service and return its events. The service's transaction is a
        savepoint of the runner's batch: a DomainError from it rolls back this command alone."""
        raise NotImplementedError


def command_class(type_name: str) -> type[BaseCommand] | None:
    from commands import types  # noqa: F401  (the subclasses register on import)

    return REGISTRY.get(type_name)


def command_types() -> list[str]:
    from commands import types  # noqa: F401

    return sorted(REGISTRY)
