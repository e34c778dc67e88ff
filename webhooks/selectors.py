"""Reads of the event log: the polling feed."""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from fulfillment.models import Integrator
from getitdone import rows
from getitdone.api.renderers import RawJSON
from getitdone.errors import NotFound
from webhooks.models import Delivery, Event, WebhookEndpoint, event_representation


@dataclass(frozen=True)
class EventPage:
    results: list[dict[str, Any]]  # as integrators see them (event_representation)
    next_after: int
    has_more: bool


def event_feed(*, integrator: Integrator, after: int = 0, limit: int = 100, type: str | None = None) -> EventPage:
    """Events with sequence > after, ascending: an index range scan on (integrator, sequence).

    The feed's SQL is written out (a queryset's compiling and model instances were most of its
    cost) and each event's `data` stays the JSON text the database holds (RawJSON)."""
    sql = (
        f"SELECT id, type, created_at, sequence, api_version, CAST(data AS text) FROM {Event._meta.db_table}"
        " WHERE integrator_id = %s AND sequence > %s"
    )
    params: list[Any] = [integrator.pk, after]
    if type:
        sql += " AND type = %s"
        params.append(type)
    found = rows.fetch(sql + " ORDER BY sequence LIMIT %s", [*params, limit + 1])
    has_more = len(found) > limit
    found = found[:limit]
    results = [
        event_representation(event_id, kind, _aware(created_at), sequence, api_version, RawJSON(data))
        for event_id, kind, created_at, sequence, api_version, data in found
    ]
    return EventPage(results=results, next_after=found[-1][3] if found else after, has_more=has_more)


_CREATED_AT = Event._meta.get_field("created_at")


def _aware(value: Any) -> datetime:
    """created_at as the ORM would load it (SQLite's driver hands back a naive datetime)."""
    column = _CREATED_AT.get_col(Event._meta.db_table)
    for convert in connection.ops.get_db_converters(column):
        value = convert(value, column, connection)
    return value


def event_get(*, integrator: Integrator, event_id: str) -> Event | None:
    return Event.objects.filter(integrator=integrator, pk=event_id).first()


@functools.cache
def _endpoints_query() -> tuple[str, rows.Columns]:
    columns = rows.Columns(WebhookEndpoint, "e", only=["id", "integrator_id", "url", "event_types", "is_active"])
    table = WebhookEndpoint._meta.db_table
    sql = f"SELECT {columns.sql} FROM {table} e WHERE e.integrator_id = %s AND e.is_active = %s"
    return sql, columns


def active_endpoints(*, integrator: Integrator) -> list[WebhookEndpoint]:
    """The integrator's enabled endpoints, for a publish on every status change: what a delivery
    needs of each (url, event types), its other fields deferred and its secret not decrypted."""
    sql, columns = _endpoints_query()
    return [columns.load(row) for row in rows.fetch(sql, [integrator.pk, True])]


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
