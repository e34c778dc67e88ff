"""OpenAPI shapes of issues, history and files (documentation only; `orders.representations`
builds the data, and tests/test_openapi.py checks that the two agree)."""

from rest_framework import serializers

from fulfillment.api.schemas import StepDoc
from orders.models import ActorType, FileKind


class IssueChildDoc(serializers.Serializer):
    id = serializers.IntegerField()
    client_issue_id = serializers.CharField()
    workflow_id = serializers.IntegerField()
    parent_issue_id = serializers.IntegerField(allow_null=True)
    step_id = serializers.IntegerField()
    step = StepDoc()
    webhook_url = serializers.CharField(allow_null=True)
    children = serializers.ListField(child=serializers.DictField(), help_text="Always empty for a child.")
    details = serializers.JSONField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IssueDoc(IssueChildDoc):
    children = IssueChildDoc(many=True)


class ActorDoc(serializers.Serializer):
    type = serializers.ChoiceField(choices=ActorType.choices)
    id = serializers.CharField(allow_null=True)


class HistoryDoc(serializers.Serializer):
    id = serializers.IntegerField()
    from_step_id = serializers.IntegerField(allow_null=True)
    to_step_id = serializers.IntegerField()
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField()
    transition_id = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()
    actor = ActorDoc()
    note = serializers.CharField()


class FileDoc(serializers.Serializer):
    id = serializers.IntegerField()
    issue_id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    kind = serializers.ChoiceField(choices=FileKind.choices)
    created_at = serializers.DateTimeField()
    download_url = serializers.CharField()
