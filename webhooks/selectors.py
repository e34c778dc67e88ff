"""Reads of the event log: the polling feed."""

from dataclasses import dataclass

from django.db.models import QuerySet

from fulfillment.models import Integrator
from getitdone.errors import NotFound
from webhooks.models import Delivery, Event, WebhookEndpoint


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


def webhook_get(*, integrator: Integrator, webhook_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(integrator=integrator, pk=webhook_id).first()
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def webhook_list(*, integrator: Integrator) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(integrator=integrator)


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempts")


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery
