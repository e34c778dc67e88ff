"""Beat's safety net: retries whose time has come, wake-ups lost with a broker outage, leases of
dead workers, paused deliveries of endpoints that are active and ready ones of endpoints that
are not. The broker carries nothing but
wake-ups ("there is work"), so losing one loses nothing: the sweep wakes a drain whenever
deliveries are due."""

import logging

from django.db import connection
from django.utils import timezone

from webhooks.delivery import sql
from webhooks.models import Delivery, DeliveryStatus, Readiness
from webhooks.services import pause_deliveries, wake_drain

logger = logging.getLogger(__name__)


def deliveries_due() -> bool:
    """Whether anything can be claimed now (retries whose time has come are made ready first,
    and paused deliveries of active endpoints)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql.promote(), {"now": now})
    _resume_paused()
    _pause_ready_of_disabled()
    with connection.cursor() as cursor:
        cursor.execute(sql.any_due(), {"now": now})
        return cursor.fetchone() is not None


def deliveries_sweep() -> bool:
    """If anything is due, wake a drain. Returns whether anything was."""
    due = deliveries_due()
    if due:
        wake_drain(force=True)
        logger.debug("sweep: deliveries due, drain woken")
    return due


def _resume_paused() -> int:
    """Ready what is paused for an endpoint that is active: enabling it does so, but an endpoint
    can become active by other ways (a save that raced a disable, a disable whose pausing ran
    after an enable); this makes any of them right within a sweep. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(sql.paused_but_active())
        endpoints = [row[0] for row in cursor.fetchall()]
    if not endpoints:
        return 0
    resumed = Delivery.objects.filter(
        endpoint_id__in=endpoints, endpoint__is_active=True, status=DeliveryStatus.PENDING, readiness=Readiness.PAUSED
    ).update(readiness=Readiness.READY)
    logger.warning("resumed %s paused deliveries of active endpoints %s", resumed, endpoints)
    return resumed


def _pause_ready_of_disabled() -> int:
    """Pause what is ready for an endpoint that is disabled: disabling it does so, but a delivery
    published as the endpoint was being disabled is written ready after that pause ran: no
    claim takes it, yet every claim of that URL reads past it. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(sql.ready_but_disabled())
        endpoints = [row[0] for row in cursor.fetchall()]
    paused = sum(pause_deliveries(endpoint) for endpoint in endpoints)
    if paused:
        logger.warning("paused %s ready deliveries of disabled endpoints %s", paused, endpoints)
    return paused
