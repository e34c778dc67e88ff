"""Endpoint health: the last success and failure, the failure streak, and disabling an endpoint
that answers 410 or has failed every delivery for WEBHOOKS_DISABLE_AFTER_DAYS."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from webhooks import transport
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_disable

_RESOLUTION = timedelta(seconds=5)

# Per process: when this process last wrote an endpoint's success. Within _RESOLUTION it skips
# even the (usually empty) UPDATE below; a failure another process wrote meanwhile is cleared by
# this process's first success once those seconds have passed.
_success_written: dict[int, datetime] = {}


def update(endpoint_id: int, result: transport.PostResult, now: datetime) -> None:
    """Follow `result`, the attempt that decides the endpoint's health for this batch."""
    if result.ok:
        written = _success_written.get(endpoint_id)
        if written is not None and timedelta(0) <= now - written < _RESOLUTION:
            return
        _success_written[endpoint_id] = now
        # Every success would otherwise rewrite the same endpoint row, and concurrent senders to
        # one endpoint would queue on its row lock: write only when something changes (a streak
        # ends) or the timestamp is more than a few seconds old.
        WebhookEndpoint.objects.filter(pk=endpoint_id).filter(
            Q(failure_streak__gt=0) | Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - _RESOLUTION)
        ).update(last_success_at=now, failure_streak=0, failing_since=None)
        return
    _success_written.pop(endpoint_id, None)
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return  # deleted while its deliveries were being sent
    failing_since = endpoint.failing_since or now
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        last_failure_at=now, failure_streak=endpoint.failure_streak + 1, failing_since=failing_since
    )
    if not endpoint.is_active:
        return
    if result.http_status == 410:
        webhook_disable(endpoint=endpoint, reason="the receiver answered 410 Gone", cause="gone")
    elif now - failing_since >= timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS):
        webhook_disable(
            endpoint=endpoint,
            reason=f"every delivery failed for {settings.WEBHOOKS_DISABLE_AFTER_DAYS} days",
            cause="failing",
        )
