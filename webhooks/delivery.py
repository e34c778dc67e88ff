"""Sending deliveries: claim, sign, POST, record the attempt, schedule the next one.

Record before you send, and let the row be the truth. Workers claim due deliveries in batches
with a lease (`SELECT … FOR UPDATE SKIP LOCKED`, then `locked_until`), so two workers never send
one delivery at once, and a worker that dies mid-send only delays it until its lease runs out.
The broker carries nothing but wake-ups ("there is work"): losing one loses nothing, because the
beat sweep wakes a drain whenever due deliveries exist.

A batch is sent concurrently from a per-process thread pool, then recorded in one transaction.
Per receiver URL, a claim takes only what keeps WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT sends in
flight across all workers, so one slow receiver cannot hold every thread.
"""

import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from webhooks import signing, transport
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from webhooks.services import WAKE_FLAG, live_secrets, wake_drain, webhook_disable

logger = logging.getLogger(__name__)

_HEALTH_RESOLUTION = timedelta(seconds=5)
SPREAD_FLAG = "webhooks:spread"
_SPREAD_EVERY = 0.25  # seconds
_executor: ThreadPoolExecutor | None = None


def _send_pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.WEBHOOKS_SEND_THREADS, thread_name_prefix="webhook-send")
    return _executor


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


def _claimable(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


def _relaxed_commit() -> None:
    """Bookkeeping commits need not wait for the disk: if one is lost in a crash, the delivery
    is simply sent again, which at-least-once allows. The event itself is committed durably."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


_CLAIM_SQL = """
WITH in_flight AS (
    SELECT url, COUNT(*) AS n FROM {delivery}
    WHERE status = %(pending)s AND locked_until >= %(now)s
    GROUP BY url
), due AS (
    -- the oldest due rows only (an index range scan), so a claim costs the same at any backlog
    SELECT d.id, d.url, d.next_attempt_at
    FROM {delivery} d LEFT JOIN {endpoint} e ON e.id = d.endpoint_id
    WHERE d.status = %(pending)s AND d.next_attempt_at <= %(now)s
      AND (d.locked_until IS NULL OR d.locked_until < %(now)s)
      AND (d.endpoint_id IS NULL OR e.is_active = %(true)s)
      {only}
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(scan)s
), candidates AS (
    SELECT id, url, next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY url ORDER BY next_attempt_at, id) AS rank
    FROM due
), picked AS (
    SELECT c.id FROM candidates c LEFT JOIN in_flight f ON f.url = c.url
    WHERE c.rank <= %(per_receiver)s - COALESCE(f.n, 0)
    ORDER BY c.next_attempt_at, c.id
    LIMIT %(limit)s
)
UPDATE {delivery} SET locked_until = %(lease)s
WHERE id = ANY(ARRAY(SELECT id FROM picked))
  AND status = %(pending)s AND next_attempt_at <= %(now)s AND (locked_until IS NULL OR locked_until < %(now)s)
RETURNING id
"""


def _claim(*, ids: list[int] | None = None, limit: int = 1) -> list[Delivery]:
    """Lease up to `limit` due deliveries and load them.

    Per receiver URL, only as many as leave WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT in flight (counting
    other workers' live leases), so one slow receiver cannot take every sending thread. Two drains
    racing for the same rows: the UPDATE re-checks that a row is still claimable once the other's
    lock is released, so each row goes to one drain.
    """
    now = timezone.now()
    params: dict = {
        "pending": DeliveryStatus.PENDING,
        "now": now,
        "true": True,
        "per_receiver": settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT,
        "limit": limit,
        "scan": limit * 8,
    }
    only = ""
    if ids is not None:
        only = "AND d.id IN (" + ", ".join(f"%(id{n})s" for n in range(len(ids))) + ")"
        params.update({f"id{n}": pk for n, pk in enumerate(ids)})
    sql = _CLAIM_SQL.format(delivery=Delivery._meta.db_table, endpoint=WebhookEndpoint._meta.db_table, only=only)
    params["lease"] = now + _lease()
    # One statement picks and leases; the UPDATE re-checks each row, so a racing drain that
    # leased it first wins and this one skips it.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = [row[0] for row in cursor.fetchall()]
    if not claimed:
        return []
    return list(
        Delivery.objects.filter(pk__in=claimed)
        .select_related("event", "endpoint", "integrator")
        .only(*_SEND_FIELDS)
        .order_by()
    )


# What sending and recording read (loading every column of four tables cost more than the send).
_SEND_FIELDS = (
    "url", "status", "attempt_count", "next_attempt_at", "locked_until", "event_id", "endpoint_id",
    "integrator_id", "event__type", "event__created_at", "event__sequence", "event__api_version",
    "event__data", "endpoint__secret", "endpoint__previous_secret", "endpoint__previous_secret_expires_at",
    "integrator__webhook_secret",
)  # fmt: skip


@dataclass
class _Sent:
    delivery: Delivery
    result: transport.PostResult


def _send(delivery: Delivery) -> _Sent:
    event = delivery.event
    body = json.dumps(event.representation(), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            live_secrets(delivery.endpoint, delivery.integrator), event.id, timestamp, body
        ),
    }
    return _Sent(delivery, transport.post(delivery.url, body, headers))


def delivery_attempt(delivery_id: int) -> str:
    """Send one delivery now if it is due and nobody holds it. Returns what happened."""
    claimed = _claim(ids=[delivery_id])
    if not claimed:
        return "not_due"
    return _record([_send(claimed[0])])[0]


def deliveries_drain(*, batch_size: int | None = None, max_batches: int = 1000) -> int:
    """Claim and send batches of due deliveries until none is left. Returns how many were sent.

    A full batch wakes one more drain first (at most four a second across the workers, each a
    Celery message), so that a backlog spreads over the worker threads.
    """
    size = batch_size or settings.WEBHOOKS_BATCH_SIZE
    sent = 0
    for _ in range(max_batches):
        # Clear the wake-up flag before looking, so a commit after this look wakes a new drain.
        cache.delete(WAKE_FLAG)
        batch = _claim(limit=size)
        if not batch:
            break
        if len(batch) == size and cache.add(SPREAD_FLAG, 1, timeout=_SPREAD_EVERY):
            wake_drain(force=True)  # a backlog: one more drain helps, a few times a second at most
        _record(list(_send_pool().map(_send, batch)))
        sent += len(batch)
    return sent


@transaction.atomic
def _record(sent: list[_Sent]) -> list[str]:
    _relaxed_commit()
    now = timezone.now()
    attempts, outcomes = [], []
    for item in sent:
        delivery, result = item.delivery, item.result
        delivery.locked_until = None
        delivery.attempt_count += 1
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempt_count,
                http_status=result.http_status,
                duration_ms=result.duration_ms,
                error=result.error,
                response_body=result.response_body,
            )
        )
        outcomes.append(_next_state(delivery, result, now))
        logger.info(
            "delivery %s of %s to %s: attempt %s %s (%s, %s ms)",
            delivery.pk, delivery.event_id, delivery.url, delivery.attempt_count, outcomes[-1],
            result.http_status or result.error, result.duration_ms,
        )  # fmt: skip
    _insert_attempts(attempts, now)
    # Finished deliveries share their new state: one UPDATE per state (bulk_update's CASE per
    # row costs more in Python than the sends). Retries each have their own time.
    finished: dict[str, list[int]] = {}
    for item in sent:
        d = item.delivery
        if d.status == DeliveryStatus.PENDING:
            Delivery.objects.filter(pk=d.pk).update(
                attempt_count=d.attempt_count, locked_until=None, next_attempt_at=d.next_attempt_at, updated_at=now
            )
        else:
            finished.setdefault(d.status, []).append(d.pk)
    for status, ids in finished.items():
        Delivery.objects.filter(pk__in=ids).update(
            status=status, attempt_count=F("attempt_count") + 1, locked_until=None, next_attempt_at=None, updated_at=now
        )
    last_by_endpoint = {s.delivery.endpoint_id: s for s in sent if s.delivery.endpoint_id}
    for item in last_by_endpoint.values():
        _update_health(item.delivery.endpoint, item.result, now)
    return outcomes


def _insert_attempts(attempts: list[DeliveryAttempt], now: datetime) -> None:
    """The batch's attempt log in one INSERT. On PostgreSQL from arrays (a quarter of the CPU of
    bulk_create, which also reads back ids nobody needs); elsewhere through the ORM."""
    if connection.vendor != "postgresql":
        DeliveryAttempt.objects.bulk_create(attempts)
        return
    columns = ("delivery_id", "number", "http_status", "duration_ms", "error", "response_body")
    types = ("bigint", "integer", "integer", "integer", "text", "text")
    arrays = [[getattr(a, column) for a in attempts] for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DeliveryAttempt._meta.db_table} ({', '.join(columns)}, at) "
            f"SELECT *, %s FROM unnest({', '.join(f'%s::{t}[]' for t in types)})",
            [now, *arrays],
        )


def _next_state(delivery: Delivery, result: transport.PostResult, now: datetime) -> str:
    delivery.updated_at = now
    if result.ok:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        return "succeeded"
    if result.http_status == 410:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        return "gone"
    delay = retry_delay(delivery.attempt_count, result.retry_after if result.http_status in (429, 503) else None)
    if delay is None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        return "failed"
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return "retry"


# Per process: when this process last wrote an endpoint's success. Within _HEALTH_RESOLUTION it
# skips even the (usually empty) UPDATE below; a failure another process wrote meanwhile is
# cleared by this process's first success once those seconds have passed.
_success_written: dict[int, datetime] = {}


def _update_health(endpoint: WebhookEndpoint, result: transport.PostResult, now: datetime) -> None:
    if result.ok:
        written = _success_written.get(endpoint.pk)
        if written is not None and timedelta(0) <= now - written < _HEALTH_RESOLUTION:
            return
        _success_written[endpoint.pk] = now
        # Every success would otherwise rewrite the same endpoint row, and concurrent senders to
        # one endpoint would queue on its row lock: write only when something changes (a streak
        # ends) or the timestamp is more than a few seconds old.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).filter(
            Q(failure_streak__gt=0) | Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - _HEALTH_RESOLUTION)
        ).update(last_success_at=now, failure_streak=0, failing_since=None)
        return
    _success_written.pop(endpoint.pk, None)
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


def deliveries_due() -> bool:
    now = timezone.now()
    return (
        Delivery.objects.filter(_claimable(now)).filter(Q(endpoint__isnull=True) | Q(endpoint__is_active=True)).exists()
    )


def deliveries_sweep() -> bool:
    """Beat's safety net: retries whose time has come, wake-ups lost with a broker outage,
    leases of dead workers. If anything is due, wake a drain. Returns whether anything was."""
    due = deliveries_due()
    if due:
        wake_drain(force=True)
        logger.debug("sweep: deliveries due, drain woken")
    return due
