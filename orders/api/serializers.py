"""Input validation for the issue endpoints. Output is `orders.representations`, shared with
the event payloads."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from getitdone import limits
from getitdone.api.fields import (
    ClientIssueIdField,
    DetailsField,
    NonBlankCharField,
    OptionalWebhookUrlField,
    StrictSerializer,
)
from orders.models import FileKind


class ChildInputSerializer(StrictSerializer):
    details = DetailsField(required=False, default=dict)
    status = NonBlankCharField(required=False, max_length=limits.STEP_NAME_MAX_LENGTH)


class IssueCreateInputSerializer(StrictSerializer):
    client_issue_id = ClientIssueIdField()
    workflow = NonBlankCharField(required=False, max_length=60, help_text="Workflow id or code.")
    status = NonBlankCharField(
        required=False, max_length=limits.STEP_NAME_MAX_LENGTH, help_text="Initial step; default the first."
    )
    webhook_url = OptionalWebhookUrlField(required=False)
    details = DetailsField(required=False, default=dict)
    children = ChildInputSerializer(many=True, required=False, default=list, max_length=limits.CHILDREN_MAX)


class StatusChangeInputSerializer(StrictSerializer):
    status = NonBlankCharField(max_length=limits.STEP_NAME_MAX_LENGTH)
    note = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=limits.TEXT_MAX_LENGTH, default=""
    )
    expected_version = serializers.IntegerField(required=False, min_value=1, max_value=limits.BIGINT_MAX)


class IssueListFilterSerializer(serializers.Serializer):
    status = serializers.CharField(required=False, trim_whitespace=False, max_length=limits.STEP_NAME_MAX_LENGTH)
    category = serializers.ChoiceField(required=False, choices=["TO_DO", "IN_PROGRESS", "DONE"])
    updated_after = serializers.DateTimeField(required=False)


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """A file of at least one byte: issue_attach_file refuses an empty one (422)."""


class FileUploadInputSerializer(serializers.Serializer):
    file = UploadField(allow_empty_file=True)
    kind = serializers.ChoiceField(choices=FileKind.choices, default=FileKind.OTHER)
