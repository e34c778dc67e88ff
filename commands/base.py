"""What a command type is: an input serializer and a `handle` that calls one `orders` service.

The types themselves, and the registry of them by `type`, are in `commands.types`: adding a
type is one class there. Nothing else needs to change.
"""

from typing import Any, ClassVar

from rest_framework import serializers

from commands.models import Command
from webhooks.models import Event


class BaseCommand:
    type: ClassVar[str]
    serializer_class: ClassVar[type[serializers.Serializer]]
    description: ClassVar[str] = ""

    @classmethod
    def issue_key(cls, data: dict[str, Any]) -> str:
        return str(data.get("client_issue_id", ""))

    def handle(self, command: Command, data: dict[str, Any]) -> list[Event]:
        """Call one `orders` service and return its events. The service's transaction is a
        savepoint of the runner's batch: a DomainError from it rolls back this command alone."""
        raise NotImplementedError
