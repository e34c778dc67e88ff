from rest_framework import serializers

from webhooks.catalogue import EVENT_TYPES


class EventFeedInputSerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    type = serializers.ChoiceField(required=False, choices=EVENT_TYPES)
