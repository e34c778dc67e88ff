"""OpenAPI shapes of commands: the request is a oneOf over the registered types, told apart
by `type`, so generated clients get one class per command."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from commands.api.serializers import CommandBatchInputSerializer
from commands.models import CommandStatus
from commands.types import REGISTRY, command_types
from getitdone.api.fields import KeyField


def _command_body(type_name: str) -> type[serializers.Serializer]:
    cls = REGISTRY[type_name]
    return type(
        f"{type_name}Command",
        (cls.serializer_class,),
        {
            "type": serializers.ChoiceField(choices=[type_name], help_text=cls.description),
            "command_id": KeyField(required=False, help_text="Your id for the command; also an idempotency key"),
            "__module__": __name__,
        },
    )


def command_request() -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name="Command",
        serializers={name: _command_body(name) for name in command_types()},
        resource_type_field_name="type",
    )


class CommandErrorDoc(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class CommandDoc(serializers.Serializer):
    id = serializers.IntegerField()
    command_id = serializers.CharField()
    type = serializers.ChoiceField(choices=command_types())
    status = serializers.ChoiceField(choices=CommandStatus.choices)
    client_issue_id = serializers.CharField(allow_null=True)
    error = CommandErrorDoc(allow_null=True)
    event_ids = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class BatchItemDoc(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    command = CommandDoc(required=False)
    error = serializers.ListField(child=serializers.DictField(), required=False)


class BatchResultDoc(serializers.Serializer):
    results = BatchItemDoc(many=True)
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()


class BatchRequestDoc(CommandBatchInputSerializer):
    pass
