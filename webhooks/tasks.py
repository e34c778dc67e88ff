"""Periodic upkeep of the event log."""

import logging

from celery import shared_task

from webhooks.services import events_prune

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.prune_events")
def prune_events() -> int:
    deleted = events_prune()
    logger.info("pruned %s events past retention", deleted)
    return deleted
