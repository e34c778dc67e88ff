from rest_framework import serializers

from getitdone import limits
from getitdone.api.fields import StrictSerializer, WebhookSecretField, WebhookUrlField
from webhooks.catalogue import EVENT_TYPES


class EventFeedInputSerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=limits.BIGINT_MAX, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    type = serializers.ChoiceField(required=False, choices=EVENT_TYPES)


def _event_types(**kwargs: object) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), max_length=limits.EVENT_TYPES_MAX,
        help_text="None: every type", **kwargs,
    )  # fmt: skip


class WebhookCreateInputSerializer(StrictSerializer):
    url = WebhookUrlField()
    description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=300, default=""
    )
    event_types = _event_types(required=False, default=list)
    secret = WebhookSecretField(required=False)
    active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateInputSerializer(StrictSerializer):
    url = WebhookUrlField(required=False)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=300)
    event_types = _event_types(required=False)
    active = serializers.BooleanField(required=False)


class WebhookRecoverInputSerializer(StrictSerializer):
    since = serializers.DateTimeField(help_text="Events created at or after this time (within retention)")
    until = serializers.DateTimeField(required=False, help_text="… and at or before this one (default: now)")
    status = serializers.ChoiceField(
        choices=["failed", "all"], required=False, default="failed",
        help_text="failed: the events whose delivery to this endpoint failed; all: every event it subscribes to",
    )  # fmt: skip
