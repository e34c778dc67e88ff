"""The claim: lease a batch of due deliveries and load what sending them needs.

Record before you send, and let the row be the truth: a claim sets each row's `locked_until`
(re-checking it, so a row goes to one drain whatever the database), two workers never send one
delivery at once, and a worker that dies mid-send only delays it until its lease runs out.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from webhooks.delivery import stores
from webhooks.delivery.jobs import Job


def lease_length() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)


class _Walk:
    """Per process: the receiver URL the last claim ended with, where the next one starts
    (threads may race on it: then two walks start at the same place, which costs only the turn)."""

    start = ""


_walk = _Walk()


def claim(*, ids: list[int] | None = None, limit: int = 1) -> list[Job]:
    """Lease up to `limit` due deliveries (of `ids`, if given) and load what sending them needs.

    Per receiver URL, only as many as leave WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT in flight
    (counting other workers' live leases), so one slow receiver cannot take every drain, and its
    backlog cannot hide the other receivers' deliveries (sql._PICK).
    """
    now: datetime = timezone.now()
    params: dict[str, Any] = {
        "now": now,
        "per_receiver": settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT,
        "limit": limit,
        "lease": now + lease_length(),
        "start": _walk.start,
        "ids": ids,
    }
    jobs = stores.current().lease(params, now)
    if jobs:  # the next walk starts after the receiver this one ended with
        urls = {job.url for job in jobs}
        _walk.start = max((url for url in urls if url > params["start"]), default=max(urls))
    return jobs
