"""Reads of the event log: the polling feed."""

from dataclasses import dataclass

from django.db.models import QuerySet

from fulfillment.models import Integrator
from webhooks.models import Event


@dataclass(frozen=True)
class EventPage:
    results: list[Event]
    next_after: int
    has_more: bool


def event_feed(*, integrator: Integrator, after: int = 0, limit: int = 100, type: str | None = None) -> EventPage:
    """Events with sequence > after, ascending: an index range scan on (integrator, sequence)."""
    qs: QuerySet[Event] = Event.objects.filter(integrator=integrator, sequence__gt=after)
    if type:
        qs = qs.filter(type=type)
    rows = list(qs.order_by("sequence")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(results=rows, next_after=rows[-1].sequence if rows else after, has_more=has_more)


def event_get(*, integrator: Integrator, event_id: str) -> Event | None:
    return Event.objects.filter(integrator=integrator, pk=event_id).first()
