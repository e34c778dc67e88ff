"""OpenAPI shapes of workflows (documentation only; `fulfillment.graph` builds the data)."""

from rest_framework import serializers

from fulfillment.models import StepCategory


class TransitionDoc(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    from_step_id = serializers.IntegerField()
    to_step_id = serializers.IntegerField()


class StepDoc(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="e.g. Por Asignar")
    value = serializers.CharField(help_text="Code, unique in the workflow, e.g. TO_BE_ASSIGNED")
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=StepCategory.choices)
    name_frontend = serializers.CharField()
    description_frontend = serializers.CharField()
    color = serializers.CharField(help_text="#RRGGBB")
    transitions = TransitionDoc(many=True, help_text="Transitions out of this step.")


class WorkflowDoc(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    initial_step_id = serializers.IntegerField(allow_null=True)
    steps = StepDoc(many=True)
