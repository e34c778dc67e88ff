"""The record of outcomes: what an attempt's result makes of its delivery, written for a whole
batch in one transaction with the endpoints' health and any operational events."""

import logging
import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fulfillment.models import Integrator
from getitdone import metrics
from webhooks import catalogue, transport
from webhooks.delivery import health, stores
from webhooks.delivery.jobs import Job, Sent
from webhooks.models import DeliveryStatus, Readiness
from webhooks.services import Publication, publish_many

logger = logging.getLogger(__name__)


def retry_delay(attempt_number: int, retry_after: int | None = None) -> float | None:
    """Seconds to wait after failed attempt `attempt_number` (1-based); None when out of tries.

    The schedule's delay plus up to 10% jitter (a burst of retries spreads out, and never comes
    earlier than the schedule). A receiver's Retry-After (429/503) can push it later, up to
    WEBHOOKS_MAX_RETRY_AFTER (24 h), never earlier.
    """
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    delay = float(schedule[attempt_number - 1]) * random.uniform(1.0, 1.1)
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), float(settings.WEBHOOKS_MAX_RETRY_AFTER)))
    return delay


def record(sent: list[Sent]) -> list[str]:
    """Count each attempt, work out its delivery's next state, and write them all. Returns each
    one's outcome: succeeded, retry, failed or gone."""
    now = timezone.now()
    outcomes = []
    for item in sent:
        if item.job.manual:  # an extra attempt: the schedule's count stays as it was
            item.job.manual_attempt_count += 1
        else:
            item.job.attempt_count += 1
        outcomes.append(_next_state(item.job, item.result, now))
    _log(sent, outcomes)
    # Per endpoint, the result its health follows: the batch's last, unless one was a 410.
    deciding: dict[int, transport.PostResult] = {}
    for item in sent:
        endpoint_id = item.job.endpoint_id
        if endpoint_id is None:
            continue
        known = deciding.get(endpoint_id)
        if known is None or known.http_status != 410:
            deciding[endpoint_id] = item.result
    store = stores.current()
    with transaction.atomic():
        recorded = store.write(sent, now)
        if len(recorded) < len(sent):
            logger.warning(
                "%s outcomes not recorded: deleted meanwhile, or leased again after our lease ran out",
                len(sent) - len(recorded),
            )
        if any(not item.result.ok for item in sent):
            store.lock_sequences({item.job.integrator_id for item in sent if not item.result.ok})
        ended = [item.job for item, outcome in zip(sent, outcomes, strict=True)
                 if item.job.id in recorded and outcome in ("failed", "gone") and not item.job.manual]  # fmt: skip
        _report_exhausted(ended)
        for endpoint_id, result in sorted(deciding.items()):  # in one order: two drains cannot deadlock
            health.update(endpoint_id, result, now)
    _count(sent, outcomes, recorded)
    return outcomes


_METRIC_OUTCOMES = {"succeeded": "succeeded", "retry": "retrying", "failed": "failed", "gone": "failed"}


def _count(sent: list[Sent], outcomes: list[str], recorded: set[int]) -> None:
    """The committed outcomes, in the metrics: each attempt's, and each success's latency from
    its event's commit."""
    committed = timezone.now()
    with metrics.counting():
        for item, outcome in zip(sent, outcomes, strict=True):
            if item.job.id not in recorded:
                continue
            metrics.DELIVERIES.labels(_METRIC_OUTCOMES[outcome]).inc()
            if outcome == "succeeded":
                metrics.DELIVERY_SECONDS.observe(max(0.0, (committed - item.job.event_created_at).total_seconds()))


def _next_state(job: Job, result: transport.PostResult, now: datetime) -> str:
    if result.ok:
        job.status, job.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        return "succeeded"
    if job.manual:
        # A failed manual attempt leaves the delivery as it was before the retry: a pending one
        # waits for the automatic attempt it had (not pushed later), a failed one stays failed.
        # (A 410 among them too: it disables the endpoint, which pauses what is pending.)
        job.status, job.next_attempt_at = job.status_before_retry, job.next_attempt_before_retry
        if job.status != DeliveryStatus.PENDING:
            return "failed"
        job.next_attempt_at = job.next_attempt_at or now
        job.readiness = Readiness.WAITING  # made ready (or paused) when its time comes, maybe at once
        return "retry"
    if result.http_status == 410:
        job.status, job.next_attempt_at = DeliveryStatus.FAILED, None
        return "gone"
    delay = retry_delay(job.attempt_count, result.retry_after if result.http_status in (429, 503) else None)
    if delay is None:
        job.status, job.next_attempt_at = DeliveryStatus.FAILED, None
        return "failed"
    job.next_attempt_at = now + timedelta(seconds=delay)
    job.readiness = Readiness.WAITING
    return "retry"


def _report_exhausted(jobs: list[Job]) -> None:
    """Deliveries that just ended `failed`: tell their integrators (`webhook.delivery.exhausted`),
    on their other endpoints, one publish per integrator and endpoint. Not for an operational
    event's own delivery: a chain of them would follow a receiver that is down for good."""
    groups: dict[tuple[int, int | None], list[Publication]] = {}
    for job in jobs:
        if job.event_type.startswith("webhook."):
            continue
        data = {
            "endpoint_id": job.endpoint_id, "delivery_id": job.id, "event_id": job.event_id,
            "event_type": job.event_type, "attempts": job.number,
        }  # fmt: skip
        publication = Publication(catalogue.WEBHOOK_DELIVERY_EXHAUSTED, data)
        groups.setdefault((job.integrator_id, job.endpoint_id), []).append(publication)
    integrators = Integrator.objects.in_bulk({integrator_id for integrator_id, _ in groups})
    for (integrator_id, endpoint_id), publications in groups.items():
        publish_many(integrators[integrator_id], publications, not_to_endpoint=endpoint_id)


def _without_query(url: str) -> str:
    """A receiver URL fit for a log line: its query string may hold the receiver's secret."""
    scheme, netloc, path, query, _fragment = urlsplit(url)
    return urlunsplit((scheme, netloc, path, "…" if query else "", ""))


def _log(sent: list[Sent], outcomes: list[str]) -> None:
    """Each attempt that did not succeed at INFO; successes as one line per batch (a busy worker
    sends thousands a second), each at DEBUG."""
    succeeded = 0
    for item, outcome in zip(sent, outcomes, strict=True):
        job, result = item.job, item.result
        level = logging.DEBUG if outcome == "succeeded" else logging.INFO
        succeeded += outcome == "succeeded"
        if logger.isEnabledFor(level):
            logger.log(
                level, "delivery %s of %s to %s: %s attempt %s %s (%s, %s ms)",
                job.id, job.event_id, _without_query(job.url), "manual" if job.manual else "automatic", job.number,
                outcome,
                result.http_status or result.error, result.duration_ms,
                extra={"delivery_id": job.id, "event_id": job.event_id},
            )  # fmt: skip
    if succeeded:
        logger.info("sent %s deliveries, %s succeeded", len(sent), succeeded)
