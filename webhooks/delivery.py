"""Sending deliveries: claim, sign, POST, record the attempt, schedule the next one.

Record before you send, and let the row be the truth: a delivery is claimed with a lease (a
conditional UPDATE), so a re-sent wake-up or a second worker never sends it twice at once, and
a worker that dies mid-send only delays it until the lease runs out and the sweep finds it.
"""

import json
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webhooks import signing, transport
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from webhooks.services import live_secrets, wake_deliveries, webhook_disable

logger = logging.getLogger(__name__)


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)


def retry_delay(attempt_number: int, retry_after: int | None = None) -> float | None:
    """Seconds to wait after failed attempt `attempt_number` (1-based); None when out of tries."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    delay = float(schedule[attempt_number - 1])
    if retry_after is not None:
        # The receiver asked (429/503): honour it, within bounds.
        delay = min(max(float(retry_after), delay), float(settings.WEBHOOKS_MAX_RETRY_AFTER))
    return delay * random.uniform(0.9, 1.1)  # jitter spreads a burst of retries


def _claimable() -> Q:
    now = timezone.now()
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


@contextmanager
def endpoint_slot(delivery: Delivery) -> Iterator[bool]:
    """At most WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT sends to one receiver at once, so one slow
    receiver cannot hold every worker thread."""
    key = f"webhooks:inflight:{delivery.endpoint_id or delivery.url}"
    cache.add(key, 0, timeout=settings.WEBHOOKS_LEASE_SECONDS)
    try:
        in_flight = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.WEBHOOKS_LEASE_SECONDS)
        in_flight = 1
    try:
        yield in_flight <= settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT
    finally:
        with suppress(ValueError):
            cache.decr(key)


def _release(delivery_id: int) -> None:
    Delivery.objects.filter(pk=delivery_id).update(locked_until=None, enqueued_at=None)


def delivery_attempt(delivery_id: int) -> str:
    """Send one delivery if it is due and nobody else holds it. Returns what happened."""
    now = timezone.now()
    if not Delivery.objects.filter(_claimable(), pk=delivery_id).update(locked_until=now + _lease()):
        return "not_due"
    delivery = Delivery.objects.select_related("event", "endpoint", "integrator").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.is_active:
        _release(delivery_id)
        return "endpoint_disabled"
    with endpoint_slot(delivery) as allowed:
        if not allowed:
            _release(delivery_id)  # the next sweep tries again
            return "endpoint_busy"
        event = delivery.event
        body = json.dumps(event.representation(), separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = {
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                live_secrets(endpoint, delivery.integrator), event.id, timestamp, body
            ),
        }
        result = transport.post(delivery.url, body, headers)
    return _record(delivery, endpoint, result)


@transaction.atomic
def _record(delivery: Delivery, endpoint: WebhookEndpoint | None, result: transport.PostResult) -> str:
    now = timezone.now()
    number = delivery.attempt_count + 1
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        http_status=result.http_status,
        duration_ms=result.duration_ms,
        error=result.error,
        response_body=result.response_body,
    )
    delivery.attempt_count = number
    delivery.locked_until = None
    delivery.enqueued_at = None
    if result.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        outcome = "succeeded"
    elif result.http_status == 410:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        outcome = "gone"
    else:
        delay = retry_delay(number, result.retry_after if result.http_status in (429, 503) else None)
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            outcome = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            outcome = "retry"
    delivery.save(
        update_fields=["attempt_count", "locked_until", "enqueued_at", "status", "next_attempt_at", "updated_at"]
    )
    if endpoint is not None:
        _update_health(endpoint, result, now)
    logger.info(
        "delivery %s of %s to %s: attempt %s %s (%s, %s ms)",
        delivery.pk, delivery.event_id, delivery.url, number, outcome,
        result.http_status or result.error, result.duration_ms,
    )  # fmt: skip
    return outcome


def _update_health(endpoint: WebhookEndpoint, result: transport.PostResult, now: object) -> None:
    if result.ok:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, failure_streak=0, failing_since=None)
        return
    endpoint.refresh_from_db(fields=["failing_since", "failure_streak", "is_active"])
    failing_since = endpoint.failing_since or now
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        last_failure_at=now, failure_streak=endpoint.failure_streak + 1, failing_since=failing_since
    )
    if not endpoint.is_active:
        return
    if result.http_status == 410:
        webhook_disable(endpoint=endpoint, reason="the receiver answered 410 Gone")
    elif now - failing_since >= timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS):
        webhook_disable(
            endpoint=endpoint, reason=f"every delivery failed for {settings.WEBHOOKS_DISABLE_AFTER_DAYS} days"
        )


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Wake workers for every delivery that is due and not being handled: retries whose time has
    come, wake-ups lost with a broker outage, leases of dead workers. Returns how many."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOKS_REQUEUE_AFTER)
    due = (
        Delivery.objects.filter(_claimable())
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .filter(Q(endpoint__isnull=True) | Q(endpoint__is_active=True))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(due)
    if ids:
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
        wake_deliveries(ids)
        logger.info("sweep woke %s due deliveries", len(ids))
    return len(ids)
