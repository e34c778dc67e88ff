"""Reads of the event log: the polling feed."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
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


# Events as integrators see them, written out: a queryset's compiling and model instances were
# most of the feed's cost. Each event's `data` stays the JSON text the database holds (RawJSON),
# in its layout (PostgreSQL's jsonb: a space after each `:` and `,`), the same in the feed and in
# GET /api/events/{id}.
_EVENT_SQL = (
    f"SELECT id, type, created_at, sequence, api_version, CAST(data AS text) FROM {Event._meta.db_table}"
    " WHERE integrator_id = %s"
)


def _event(row: tuple[Any, ...], aware: Callable[[Any], datetime]) -> dict[str, Any]:
    event_id, kind, created_at, sequence, api_version, data = row
    return event_representation(event_id, kind, aware(created_at), sequence, api_version, RawJSON(data))


def event_feed(*, integrator: Integrator, after: int = 0, limit: int = 100, type: str | None = None) -> EventPage:
    """Events with sequence > after, ascending: an index range scan on (integrator, sequence)."""
    sql = _EVENT_SQL + " AND sequence > %s"
    params: list[Any] = [integrator.pk, after]
    if type:
        sql += " AND type = %s"
        params.append(type)
    found = rows.fetch(sql + " ORDER BY sequence LIMIT %s", [*params, limit + 1])
    has_more = len(found) > limit
    found = found[:limit]
    next_after = found[-1][3] if found else after
    aware = _created_at_loader()
    return EventPage(results=[_event(row, aware) for row in found], next_after=next_after, has_more=has_more)


def event_get(*, integrator: Integrator, event_id: str) -> dict[str, Any] | None:
    found = rows.fetch(_EVENT_SQL + " AND id = %s", [integrator.pk, event_id])
    return _event(found[0], _created_at_loader()) if found else None


def _created_at_loader() -> Callable[[Any], datetime]:
    """created_at as the ORM would load it: as it comes on PostgreSQL; through the backend's
    converters elsewhere (SQLite's driver hands back a naive datetime)."""
    column = Event._meta.get_field("created_at").get_col(Event._meta.db_table)
    db = connections[DEFAULT_DB_ALIAS]
    converters = db.ops.get_db_converters(column)
    if not converters:
        return lambda value: value

    def load(value: Any) -> datetime:
        for convert in converters:
            value = convert(value, column, db)
        return value

    return load


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
