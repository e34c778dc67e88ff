"""OpenAPI shapes of events, webhooks and deliveries (documentation only)."""

from rest_framework import serializers

from webhooks.catalogue import EVENT_TYPES
from webhooks.models import DeliveryStatus


class EventDoc(serializers.Serializer):
    id = serializers.CharField(help_text="evt_ + ULID; the webhook-id header of its deliveries")
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    timestamp = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="Strictly increasing per integrator in commit order")
    api_version = serializers.CharField()
    data = serializers.JSONField(help_text="The payload of the type: see docs/events.md")


class EventFeedDoc(serializers.Serializer):
    results = EventDoc(many=True)
    next_after = serializers.IntegerField(help_text="Send as `after` next time")
    has_more = serializers.BooleanField()


class WebhookDoc(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookWithSecretDoc(WebhookDoc):
    secret = serializers.CharField(help_text="whsec_…; shown on creation and rotation only")


class AttemptDoc(serializers.Serializer):
    number = serializers.IntegerField(help_text="1, 2, …: automatic and manual attempts in the order made")
    manual = serializers.BooleanField(help_text="A manual retry (an extra attempt, outside the retry schedule)")
    at = serializers.DateTimeField()
    http_status = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    response_body = serializers.CharField(help_text="First 1 KiB")


class DeliveryDoc(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.ChoiceField(choices=EVENT_TYPES)
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempts = AttemptDoc(many=True)


class RecoverDoc(serializers.Serializer):
    queued = serializers.IntegerField(help_text="How many events were queued again to this endpoint")
