"""Draining: claim a batch, sign and send it, record it, until nothing is due.

A batch is sent concurrently by libcurl from the drain's own thread, then recorded in one
transaction. Per receiver URL, a claim takes only what keeps WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT
sends in flight across all workers, and walks the receivers in turns, so one slow receiver can
neither hold every thread nor, with its backlog, keep the others waiting.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from getitdone import tracing, wakeups
from webhooks import signing, transport
from webhooks.delivery import outcomes, stores
from webhooks.delivery.claim import claim
from webhooks.delivery.jobs import Job, Sent
from webhooks.services import WAKE_FLAG, wake_drain

SPREAD_FLAG = "webhooks:spread"
_SPREAD_EVERY = 0.25  # seconds


def delivery_attempt(delivery_id: int) -> str:
    """Send one delivery now if it is due and nobody holds it. Returns what happened."""
    with stores.current().relaxed_commits():
        claimed = claim(ids=[delivery_id])
        if not claimed:
            return "not_due"
        return outcomes.record(_send(claimed))[0]


def deliveries_drain(*, batch_size: int | None = None, max_batches: int = 1000) -> int:
    """Claim and send batches of due deliveries until none is left. Returns how many were sent.

    A full batch wakes one more drain first (at most four a second across the workers, each a
    Celery message), so that a backlog spreads over the worker threads.
    """
    size = batch_size or settings.WEBHOOKS_BATCH_SIZE
    with stores.current().relaxed_commits():
        return _drain(size, max_batches)


def _drain(size: int, max_batches: int) -> int:
    sent = 0
    for _ in range(max_batches):
        batch = claim(limit=size)
        if not batch:
            # Done: clear the wake-up flag, then look once more. A commit that found the flag
            # still set woke nobody, and this look sees it; a commit after the clear wakes a new
            # drain. (Clearing it before every claim made nearly every commit under load pay
            # for a Celery message, and the workers for a drain that found nothing.)
            cache.delete(WAKE_FLAG)
            batch = claim(limit=size)
            if not batch:
                break
        # At work: the flag stays set (it may have been cleared just above, or have expired), or
        # each commit from now on would wake one more drain to poll beside this one, and their
        # claims would queue on each other.
        cache.add(WAKE_FLAG, 1, timeout=settings.WEBHOOKS_WAKE_COALESCE_SECONDS)
        if len(batch) == size:
            _spread()  # a backlog: one more drain helps
        outcomes.record(_send(batch, on_slow=_hand_over))
        sent += len(batch)
    return sent


def _hand_over() -> None:
    """A batch turned slow (a receiver or resolver taking its time): while this drain waits, the
    flag it set would keep commits from waking another, and everybody's new deliveries would
    wait with it. Clear it, so that the next commit wakes a drain, and wake one for what was
    committed meanwhile."""
    cache.delete(WAKE_FLAG)
    _spread()


def _spread() -> None:
    """Wake one more drain, a few times a second at most across the workers (each a Celery
    message)."""
    if wakeups.flag(SPREAD_FLAG, _SPREAD_EVERY):
        wake_drain(force=True)


def _request(job: Job) -> transport.Request:
    timestamp = int(time.time())
    headers = {
        "webhook-id": job.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(job.secrets, job.event_id, timestamp, job.body),
        "traceparent": tracing.delivery_traceparent(job.traceparent, job.event_id),  # the event's trace (API.md §1)
    }
    return transport.Request(job.url, job.body, headers, owner=job.integrator_id)


def _send(batch: list[Job], *, on_slow: Callable[[], None] | None = None) -> list[Sent]:
    results = transport.post_many([_request(job) for job in batch], on_slow=on_slow)
    return [Sent(job, result) for job, result in zip(batch, results, strict=True)]
