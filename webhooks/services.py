"""Writing events and configuring endpoints. `publish` is the only way anything becomes an event."""

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from fulfillment.models import Integrator
from getitdone import limits, metrics, rows, tracing, wakeups
from getitdone.errors import InvalidInput, NotAllowed
from webhooks import addresses, catalogue, selectors, signing
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventSequence,
    Readiness,
    WebhookEndpoint,
    readiness_for,
    unleased,
)

logger = logging.getLogger(__name__)


def _next_sequence(integrator_id: int) -> int:
    table = EventSequence._meta.db_table
    with connection.cursor() as cursor:
        # The row lock this UPDATE takes is held until commit: see EventSequence.
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + 1 WHERE integrator_id = %s RETURNING last_value",
            [integrator_id],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    # First event of this integrator: create its counter (a racing creator makes us retry once).
    try:
        with transaction.atomic():
            EventSequence.objects.create(integrator_id=integrator_id, last_value=0)
    except IntegrityError:  # another transaction created it first
        logger.debug("event counter for integrator %s created concurrently", integrator_id)
    return _next_sequence(integrator_id)


WAKE_FLAG = "webhooks:wake"


def wake_drain(*, force: bool = False) -> None:
    """Tell the workers there is work. Coalesced: while a wake-up is pending or a drain is at
    work, more commits need none (a drain clears the flag when it runs out of work, then looks
    once more). Best effort: with the broker down the beat sweep wakes a drain once it is back;
    the rows are the truth (getitdone/wakeups.py)."""
    if not force and not wakeups.flag(WAKE_FLAG, settings.WEBHOOKS_WAKE_COALESCE_SECONDS):
        return
    if not wakeups.wake("webhooks.drain"):
        cache.delete(WAKE_FLAG)  # nobody was woken: let the next commit try again


@dataclass(frozen=True)
class Publication:
    """One event to publish: its type, its data and the issue it is about (if any)."""

    type: str
    data: dict[str, Any]
    issue: Any = None


def publish(
    integrator: Integrator,
    type: str,
    data: dict[str, Any],
    *,
    issue: Any = None,
    only_endpoint: WebhookEndpoint | None = None,
    not_to_endpoint: int | None = None,
) -> Event:
    """Record an event, and a Delivery for each URL that wants it, in the caller's transaction
    (the outbox): they exist iff the change does. Workers are woken after commit.
    `not_to_endpoint`: the endpoint an operational event is about, which does not get it."""
    publications = [Publication(type, data, issue)]
    return publish_many(integrator, publications, only_endpoint=only_endpoint, not_to_endpoint=not_to_endpoint)[0]


def publish_many(
    integrator: Integrator,
    publications: list[Publication],
    *,
    only_endpoint: WebhookEndpoint | None = None,
    not_to_endpoint: int | None = None,
) -> list[Event]:
    """`publish` for several events of one change (an issue and the children that moved with
    it), in order, with one statement each for the events, the endpoints and the deliveries."""
    for publication in publications:
        if publication.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {publication.type!r}")
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it records")
    # PostgreSQL stamps the sequence at commit, in insert order (see EventSequence); other
    # databases now.
    stamped_at_commit = connection.vendor == "postgresql"
    # The request's or the command's trace (API.md §1); a trace of its own for a change nobody
    # traced (a sweep, staff in admin), so that all its deliveries share one trace id.
    traceparent = tracing.current_traceparent() or tracing.new_traceparent()
    events = [
        Event(
            integrator=integrator, type=p.type, api_version=settings.API_VERSION, data=p.data, issue=p.issue,
            sequence=None if stamped_at_commit else _next_sequence(integrator.pk), traceparent=traceparent,
        )
        for p in publications
    ]  # fmt: skip
    rows.insert(events)
    transaction.on_commit(partial(_count_events, [p.type for p in publications]), robust=True)
    endpoints = [only_endpoint] if only_endpoint else selectors.active_endpoints(integrator=integrator)
    endpoints = [e for e in endpoints if e.pk != not_to_endpoint]
    now = timezone.now()
    deliveries = []
    for event, publication in zip(events, publications, strict=True):
        targets = [(e, e.url) for e in endpoints if only_endpoint is not None or e.wants(event.type)]
        if only_endpoint is None and publication.issue is not None and publication.issue.webhook_url:
            targets.append((None, publication.issue.webhook_url))
        deliveries.extend(
            Delivery(
                event=event, integrator=integrator, endpoint=e, url=url, next_attempt_at=now,
                readiness=readiness_for(e),  # a test event to a disabled endpoint waits for it
            )
            for e, url in targets
        )  # fmt: skip
        logger.info("event %s %s for integrator %s (%s deliveries)", event.id, event.type, integrator.pk, len(targets),
                    extra={"event_id": event.id})  # fmt: skip
    if deliveries:
        rows.insert(deliveries)
        transaction.on_commit(wake_drain)
    return events


def _count_events(types: list[str]) -> None:
    with metrics.counting():
        for type_ in types:
            metrics.EVENTS.labels(type_).inc()


def events_prune(
    *, older_than_days: int | None = None, batch_size: int = 1000, on_batch: Callable[[int], None] | None = None
) -> int:
    """Delete events past the retention window, with their deliveries and attempts; returns how
    many went. Never an event with a pending delivery: it goes once the delivery ends.

    In batches of `batch_size`, a transaction each, by key: no row is loaded into Python, and a
    batch holds its locks briefly. `on_batch(deleted)` follows the progress."""
    days = settings.EVENTS_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    event, delivery = Event._meta.db_table, Delivery._meta.db_table
    attempt = DeliveryAttempt._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    pick = (
        f"SELECT e.id FROM {event} e WHERE e.created_at < %s AND NOT EXISTS ("
        f"SELECT 1 FROM {delivery} d WHERE d.event_id = e.id AND d.status = %s) ORDER BY e.created_at LIMIT %s{lock}"
    )
    deleted = 0
    while True:
        with transaction.atomic():
            # Locked: a delivery created for one of them meanwhile (a resend) waits, then fails
            # on its foreign key instead of being deleted behind its creator's back.
            ids = [row[0] for row in rows.fetch(pick, [cutoff, DeliveryStatus.PENDING, batch_size])]
            if not ids:
                return deleted
            among = rows.placeholders(ids)
            doomed = f"SELECT id FROM {delivery} WHERE event_id IN ({among})"
            rows.execute(f"DELETE FROM {attempt} WHERE delivery_id IN ({doomed})", ids)
            rows.execute(f"DELETE FROM {delivery} WHERE event_id IN ({among})", ids)
            batch = rows.execute(f"DELETE FROM {event} WHERE id IN ({among})", ids)
        deleted += batch
        if on_batch is not None:
            on_batch(batch)


# --- Endpoint configuration -------------------------------------------------------------------


def validate_webhook_url(url: str, *, field: str = "url") -> str:
    try:
        addresses.check_url(url)
    except addresses.UnsafeUrl as exc:
        raise InvalidInput(str(exc), code="unsafe_url", field=field) from exc
    return url


def _validate_event_types(event_types: list[str]) -> list[str]:
    if len(event_types) > limits.EVENT_TYPES_MAX:
        raise InvalidInput(f"At most {limits.EVENT_TYPES_MAX} event types.", code="max_length", field="event_types")
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_TYPES)}.",
            code="invalid_choice",
            field="event_types",
        )
    return list(dict.fromkeys(event_types))


def _validate_secret(secret: str) -> str:
    if not re.fullmatch(signing.SECRET_PATTERN, secret):
        raise InvalidInput("The secret must be whsec_ + the base64 of 24 to 64 bytes.", code="invalid", field="secret")
    return secret


@transaction.atomic
def webhook_create(
    *,
    integrator: Integrator,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    secret: str | None = None,
    active: bool = True,
) -> WebhookEndpoint:
    """422 on the field that is wrong, or when the integrator has its 20 endpoints already."""
    url = validate_webhook_url(url)  # before the lock: it may wait on DNS
    event_types = _validate_event_types(event_types or [])
    secret = _validate_secret(secret) if secret else signing.generate_secret()
    # Counted under the integrator's row lock, so two concurrent creations cannot both pass. No
    # key lock: inserts that point at the integrator (issues, events) take a key-share lock.
    Integrator.objects.select_for_update(no_key=True).filter(pk=integrator.pk).first()
    if WebhookEndpoint.objects.filter(integrator=integrator).count() >= limits.WEBHOOK_ENDPOINTS_MAX:
        raise InvalidInput(
            f"An integrator has at most {limits.WEBHOOK_ENDPOINTS_MAX} webhook endpoints; delete one first.",
            code="limit_reached",
        )
    return WebhookEndpoint.objects.create(
        integrator=integrator,
        url=url,
        description=description,
        event_types=event_types,
        secret=secret,
        is_active=active,
    )


@transaction.atomic
def webhook_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    if "url" in changes:
        endpoint.url = validate_webhook_url(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes:
        endpoint.event_types = _validate_event_types(changes["event_types"] or [])
    if "url" in changes:
        # What is pending goes to the new URL from its next attempt, in flight or not. First of
        # all: the deliveries' rows are locked before the endpoint's, as a drain locks them.
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exclude(url=endpoint.url).update(
            url=endpoint.url
        )
    # Enable or disable next: enabling writes the deliveries' rows before the endpoint's (the
    # order a drain recording a batch locks them), and the save below would lock the endpoint's
    # first. As the database has it now: a drain may have disabled it since it was read.
    endpoint.is_active = WebhookEndpoint.objects.values_list("is_active", flat=True).get(pk=endpoint.pk)
    if changes.get("active") is True and not endpoint.is_active:
        webhook_enable(endpoint=endpoint)
    elif changes.get("active") is False and endpoint.is_active:
        webhook_disable(endpoint=endpoint, reason="disabled by the integrator")
    # Only what was asked: a save of every field from this copy would undo a disable a drain
    # committed meanwhile.
    endpoint.save(update_fields=[f for f in ("url", "description", "event_types") if f in changes] + ["updated_at"])
    return endpoint


def webhook_disable(*, endpoint: WebhookEndpoint, reason: str, cause: str | None = None) -> None:
    """Disable an endpoint. `cause` (`gone`: a 410; `failing`: every delivery failed for days)
    when we disabled it, not its owner: then the integrator hears of it through a
    `webhook.endpoint.disabled` event, on its other endpoints and in the feed."""
    endpoint.is_active = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_at", "updated_at"])
    if cause is not None:
        data = {"endpoint_id": endpoint.pk, "url": endpoint.url, "reason": cause}
        integrator = Integrator.objects.get(pk=endpoint.integrator_id)
        publish(integrator, catalogue.WEBHOOK_ENDPOINT_DISABLED, data, not_to_endpoint=endpoint.pk)
    # Its pending deliveries wait for it to be enabled, out of the claims' way; paused after
    # commit, in a transaction of their own. In the caller's, the endpoint's row would be locked
    # before the deliveries' rows, and a drain recording a batch locks them the other way round
    # (a deadlock); a drain disables on a 410 while recording.
    transaction.on_commit(partial(pause_deliveries, endpoint.pk), robust=True)  # a failure is logged
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)


def pause_deliveries(endpoint_id: int) -> int:
    """Pause an endpoint's ready deliveries if it is still disabled (if it was enabled meanwhile
    and one is paused all the same, the sweep readies it). Not those another drain is sending:
    it locks them to record them, and locking them here too could deadlock with it; if they are
    to be retried, they wait, and are paused when their time comes. Nor the waiting ones, for
    the same reason with the claims' promotion, which pauses them when due. Returns how many."""
    now = timezone.now()
    paused = (
        Delivery.objects.filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING, readiness=Readiness.READY,
            endpoint__is_active=False,
        )
        .filter(unleased(now))
        .update(readiness=Readiness.PAUSED)
    )  # fmt: skip
    if paused:
        logger.info("paused %s pending deliveries of disabled endpoint %s", paused, endpoint_id)
    return paused


@transaction.atomic
def webhook_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Re-enable, and resume what is pending: due now, woken after commit. The deliveries' rows
    are written before the endpoint's, in the order a drain recording a batch locks them."""
    now = timezone.now()
    # Not those a drain is still sending (leased before the endpoint was disabled): it records
    # them, and a retry it schedules is made ready when due.
    Delivery.objects.filter(unleased(now), endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=now, locked_until=None, readiness=Readiness.READY
    )
    endpoint.is_active = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failure_streak = 0
    endpoint.failing_since = None
    endpoint.save(
        update_fields=["is_active", "disabled_reason", "disabled_at", "failure_streak", "failing_since", "updated_at"]
    )
    transaction.on_commit(wake_drain)
    return endpoint


RECOVER_STATUSES = ("failed", "all")


def webhook_recover(
    *, endpoint: WebhookEndpoint, since: datetime, until: datetime | None = None, status: str = "failed"
) -> int:
    """See webhook_recover_events: how many were queued."""
    return len(webhook_recover_events(endpoint=endpoint, since=since, until=until, status=status))


@transaction.atomic
def webhook_recover_events(
    *, endpoint: WebhookEndpoint, since: datetime, until: datetime | None = None, status: str = "failed"
) -> list[str]:
    """Send again, to this endpoint, the events of a time window that are still kept: those whose
    delivery to it failed (`failed`), or every one it subscribes to (`all`). New deliveries, with
    the events' own ids as `webhook-id`; an event already pending to it is not queued twice.
    Returns the ids of the events queued. API.md §7."""
    oldest = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    if since < oldest:
        days = settings.EVENTS_RETENTION_DAYS
        raise InvalidInput(
            f"Events are kept {days} days: `since` must be after {oldest:%Y-%m-%dT%H:%M:%SZ}.",
            code="out_of_retention", field="since",
        )  # fmt: skip
    if until is not None and until < since:
        raise InvalidInput("`until` is before `since`.", code="invalid_window", field="until")
    if status not in RECOVER_STATUSES:
        raise InvalidInput(f"status is one of {', '.join(RECOVER_STATUSES)}.", code="invalid_choice", field="status")
    # Two recovers of one endpoint at once (a double click, a client's retry) take turns, so the
    # second sees the first's pending deliveries and queues nothing twice.
    WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
    events = Event.objects.filter(integrator_id=endpoint.integrator_id, created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lte=until)
    to_it = Delivery.objects.filter(event=OuterRef("pk"), endpoint=endpoint)
    if status == "failed":
        events = events.filter(Exists(to_it.filter(status=DeliveryStatus.FAILED)))
    else:
        if endpoint.event_types:
            events = events.filter(type__in=endpoint.event_types)
        # Not another endpoint's test, nor news about this endpoint itself.
        events = events.exclude(type=catalogue.WEBHOOK_TEST)
        events = events.exclude(type__startswith="webhook.", data__endpoint_id=endpoint.pk)
    ids = list(events.exclude(Exists(to_it.filter(status=DeliveryStatus.PENDING))).order_by("created_at", "id")
               .values_list("pk", flat=True))  # fmt: skip
    now, readiness = timezone.now(), readiness_for(endpoint)
    for start in range(0, len(ids), 1000):
        rows.insert([
            Delivery(event_id=pk, integrator_id=endpoint.integrator_id, endpoint=endpoint, url=endpoint.url,
                     next_attempt_at=now, readiness=readiness)
            for pk in ids[start : start + 1000]
        ])  # fmt: skip
    if ids:
        transaction.on_commit(wake_drain)
    logger.info("recover: %s events queued again to webhook endpoint %s", len(ids), endpoint.pk)
    return ids


def webhook_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOKS_OLD_SECRET_TTL)
    endpoint.secret = signing.generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


@transaction.atomic
def webhook_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and, with it, its deliveries and their attempts; the events stay (they
    are the integrator's feed). The deliveries go first, so their rows are locked before the
    endpoint's, the order a drain recording a batch locks them (a plain cascade may delete the
    endpoint first: its deliveries' foreign key is nullable, so Django sees no order to keep)."""
    endpoint_id, integrator_id = endpoint.pk, endpoint.integrator_id
    Delivery.objects.filter(endpoint=endpoint).delete()
    endpoint.delete()
    logger.info("webhook endpoint %s of integrator %s deleted", endpoint_id, integrator_id)


@transaction.atomic
def webhook_send_test(*, endpoint: WebhookEndpoint) -> Delivery:
    event = publish(
        endpoint.integrator,
        catalogue.WEBHOOK_TEST,
        {"webhook_id": endpoint.pk, "message": "This is a test event from Get It Done."},
        only_endpoint=endpoint,
    )
    return event.deliveries.get()


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Queue a manual attempt of this delivery, due now (the retry call, and admin's "Retry now").

    An extra attempt (API.md §7): logged like the others, numbered after them and marked manual,
    but outside the retry schedule. If it fails, the delivery is as it was before: a pending one
    keeps the time of its next automatic attempt and the count of those left, a failed one stays
    failed. A second retry before the first is made asks for nothing more.

    Raises NotAllowed (400) while a worker is sending it: the attempt under way is recorded
    first, then it can be retried.
    """
    now = timezone.now()
    # Locked: a claim leasing it meanwhile waits, then finds it changed (the lease re-checks).
    current = Delivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
    if current.status == DeliveryStatus.PENDING and current.locked_until is not None and current.locked_until >= now:
        raise NotAllowed(
            _("Delivery %(id)s is being sent right now; retry it once this attempt is recorded.") % {"id": current.pk},
            code="delivery_in_flight",
        )
    if not current.status_before_retry:
        current.status_before_retry = current.status
        pending = current.status == DeliveryStatus.PENDING
        current.next_attempt_before_retry = current.next_attempt_at if pending else None
    current.status = DeliveryStatus.PENDING
    current.next_attempt_at = now
    current.locked_until = None
    current.readiness = readiness_for(current.endpoint)
    current.save(
        update_fields=[
            "status", "next_attempt_at", "status_before_retry", "next_attempt_before_retry", "locked_until",
            "readiness", "updated_at",
        ]
    )  # fmt: skip
    transaction.on_commit(wake_drain)
    return current


@transaction.atomic
def events_resend(*, events: Iterable[Event], endpoint: WebhookEndpoint) -> int:
    """Send these events again to this endpoint: a new delivery of each, due now, with the same
    `webhook-id` (the event's id), whether or not the endpoint subscribes to its type (staff
    chose them). Returns how many were queued; paused, not sent, while the endpoint is disabled.

    Raises InvalidInput (422) on `events` if any is another integrator's: nothing is queued.
    """
    events = list(events)
    strangers = [e.pk for e in events if e.integrator_id != endpoint.integrator_id]
    if strangers:
        raise InvalidInput(
            _("Events %(events)s are not of this endpoint's integrator.") % {"events": ", ".join(strangers)},
            code="other_integrator",
            field="events",
        )
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            event_id=event.pk, integrator_id=endpoint.integrator_id, endpoint=endpoint, url=endpoint.url,
            next_attempt_at=now, readiness=readiness_for(endpoint),
        )
        for event in events
    )  # fmt: skip
    if deliveries:
        transaction.on_commit(wake_drain)
    logger.info("resent %s events to webhook endpoint %s", len(deliveries), endpoint.pk)
    return len(deliveries)
