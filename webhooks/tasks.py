"""Celery entry points for webhooks: thin, they call the delivery and event services."""

import logging

from celery import shared_task

from webhooks.delivery import deliveries_drain, deliveries_sweep
from webhooks.services import events_prune

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.drain", ignore_result=True)
def drain() -> int:
    return deliveries_drain()


@shared_task(name="webhooks.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> bool:
    return deliveries_sweep()


@shared_task(name="webhooks.prune_events")
def prune_events() -> int:
    deleted = events_prune()
    if deleted:  # a sweep that found nothing says nothing
        logger.info("pruned %s events past retention", deleted)
    return deleted
