from rest_framework import serializers

from getitdone import limits
from webhooks.catalogue import EVENT_TYPES


class EventFeedInputSerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, max_value=limits.BIGINT_MAX, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    type = serializers.ChoiceField(required=False, choices=EVENT_TYPES)


class WebhookCreateInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        default=list,
        max_length=limits.EVENT_TYPES_MAX,
    )
    secret = serializers.CharField(required=False, max_length=120)
    active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateInputSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, max_length=limits.EVENT_TYPES_MAX
    )
    active = serializers.BooleanField(required=False)
