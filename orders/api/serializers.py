"""Input validation for the issue endpoints. Output is `orders.representations`, shared with
the event payloads."""

from rest_framework import serializers

from getitdone import limits
from getitdone.api.fields import ClientIssueIdField, DetailsField
from orders.models import FileKind


class WebhookUrlField(serializers.CharField):
    """Checked by the service (scheme, and public addresses unless private ones are allowed)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)


class ChildInputSerializer(serializers.Serializer):
    details = DetailsField(required=False, default=dict)
    status = serializers.CharField(required=False, max_length=120)


class IssueCreateInputSerializer(serializers.Serializer):
    client_issue_id = ClientIssueIdField()
    workflow = serializers.CharField(required=False, max_length=60, help_text="Workflow id or code.")
    status = serializers.CharField(required=False, max_length=120, help_text="Initial step; default the first.")
    webhook_url = WebhookUrlField(required=False, allow_blank=True)
    details = DetailsField(required=False, default=dict)
    children = ChildInputSerializer(many=True, required=False, default=list, max_length=limits.CHILDREN_MAX)


class StatusChangeInputSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=120)
    note = serializers.CharField(required=False, allow_blank=True, max_length=limits.TEXT_MAX_LENGTH, default="")
    expected_version = serializers.IntegerField(required=False, min_value=1, max_value=limits.BIGINT_MAX)


class IssueListFilterSerializer(serializers.Serializer):
    status = serializers.CharField(required=False, max_length=120)
    category = serializers.ChoiceField(required=False, choices=["TO_DO", "IN_PROGRESS", "DONE"])
    updated_after = serializers.DateTimeField(required=False)


class FileUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    kind = serializers.ChoiceField(choices=FileKind.choices, default=FileKind.OTHER)
