"""Reads of the event log: the polling feed."""

import functools
from dataclasses import dataclass
from typing import Any

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
@functools.cache
def _event_query() -> tuple[str, rows.Columns]:
    columns = rows.Columns(Event, "e", only=["id", "type", "created_at", "sequence", "api_version"])
    sql = f"SELECT {columns.sql}, CAST(e.data AS text) FROM {Event._meta.db_table} e WHERE e.integrator_id = %s"
    return sql, columns


def _events(found: list[tuple[Any, ...]], columns: rows.Columns) -> list[dict[str, Any]]:
    results = []
    for row in found:
        event = dict(zip(columns.names, columns.values(row), strict=True))  # columns in field order
        results.append(
            event_representation(
                event["id"], event["type"], event["created_at"], event["sequence"], event["api_version"],
                RawJSON(row[-1]),
            )
        )  # fmt: skip
    return results


def event_feed(*, integrator: Integrator, after: int = 0, limit: int = 100, type: str | None = None) -> EventPage:
    """Events with sequence > after, ascending: an index range scan on (integrator, sequence)."""
    sql, columns = _event_query()
    sql += " AND e.sequence > %s"
    params: list[Any] = [integrator.pk, after]
    if type:
        sql += " AND e.type = %s"
        params.append(type)
    found = rows.fetch(sql + " ORDER BY e.sequence LIMIT %s", [*params, limit + 1])
    has_more = len(found) > limit
    results = _events(found[:limit], columns)
    next_after = results[-1]["sequence"] if results else after
    return EventPage(results=results, next_after=next_after, has_more=has_more)


def event_get(*, integrator: Integrator, event_id: str) -> dict[str, Any] | None:
    sql, columns = _event_query()
    found = _events(rows.fetch(sql + " AND e.id = %s", [integrator.pk, event_id]), columns)
    return found[0] if found else None


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
