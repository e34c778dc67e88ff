"""Writing events. `publish` is the only way anything becomes an event."""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fulfillment.models import Integrator
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import Event, EventSequence

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


def publish(integrator: Integrator, type: str, data: dict[str, Any], *, issue: Any = None) -> Event:
    """Record an event in the caller's transaction (the outbox): it exists iff the change does."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it records")
    event = Event.objects.create(
        integrator=integrator,
        type=type,
        sequence=_next_sequence(integrator.pk),
        api_version=settings.API_VERSION,
        data=data,
        issue=issue,
    )
    logger.info("event %s %s #%s for integrator %s", event.id, type, event.sequence, integrator.pk)
    return event


def events_prune(*, older_than_days: int | None = None) -> int:
    """Delete events past the retention window; returns how many went."""
    days = settings.EVENTS_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
