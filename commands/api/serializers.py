from typing import Any

from rest_framework import serializers

from commands.models import CommandStatus
from commands.types import command_types


class CommandFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=CommandStatus.values)
    type = serializers.ChoiceField(required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = command_types()


class CommandBatchInputSerializer(serializers.Serializer):
    # A command that is not an object fails the whole batch (422); what is in each object is
    # judged command by command (202, each accepted or rejected).
    commands = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=100,
        help_text="Commands, as for POST /api/commands; each is accepted or rejected on its own",
    )  # fmt: skip
