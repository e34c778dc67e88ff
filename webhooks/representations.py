"""How endpoints and deliveries look to integrators (API.md §7)."""

from typing import Any

from getitdone.formats import iso_timestamp
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

_ts = iso_timestamp


def webhook_representation(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    data = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "active": endpoint.is_active,
        "disabled_reason": endpoint.disabled_reason or None,
        "created_at": _ts(endpoint.created_at),
        "updated_at": _ts(endpoint.updated_at),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def attempt_representation(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "manual": attempt.manual,
        "at": _ts(attempt.at),
        "http_status": attempt.http_status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error or None,
        "response_body": attempt.response_body,
    }


def delivery_representation(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "url": delivery.url,
        "status": delivery.status,
        "next_attempt_at": _ts(delivery.next_attempt_at),
        "created_at": _ts(delivery.created_at),
        "attempts": [attempt_representation(a) for a in delivery.attempts.all()],
    }
