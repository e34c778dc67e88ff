"""Prometheus metrics (API.md §10), counted by every web and worker process on a host.

prometheus-client's multiprocess mode: each process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (set in settings, before prometheus_client is first imported; `make run`
empties it at start, as a deployment should on each start of the host's processes), and a
scrape of `/metrics` on any web process adds up every process's files. Gauges that come from
the database are read at scrape time, with a bounded query (BACKLOG_CAP).
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

# Request latencies: from a cached GET to a slow batch.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Event commit to a receiver's 2xx: immediate, a slow receiver, the first retries, hours later.
_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600)

HTTP_REQUESTS = Counter(
    "getitdone_http_requests_total", "HTTP requests answered, by method, route pattern and status.",
    ["method", "route", "status"],
)  # fmt: skip
HTTP_DURATION = Histogram(
    "getitdone_http_request_duration_seconds", "Time to answer an HTTP request, by method and route pattern.",
    ["method", "route"], buckets=_HTTP_BUCKETS,
)  # fmt: skip
DELIVERIES = Counter(
    "getitdone_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: succeeded, retrying (failed, another attempt is scheduled), failed.",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "getitdone_webhook_delivery_seconds", "From an event's commit to its receiver's 2xx, per delivery.",
    buckets=_DELIVERY_BUCKETS,
)  # fmt: skip
COMMANDS = Counter("getitdone_commands_total", "Commands finished, by status (succeeded, failed).", ["status"])
EVENTS = Counter("getitdone_events_total", "Events published (committed), by type.", ["type"])

access_log = logging.getLogger("getitdone.access")
logger = logging.getLogger(__name__)

BACKLOG_CAP = 100_000  # the backlog gauge counts this many due deliveries at most: a scrape stays cheap


_failed_at = 0.0  # time.monotonic() of the last failure logged


@contextmanager
def counting() -> Iterator[None]:
    """Around updating samples: a sample that cannot be written (its directory removed under a
    running process, a full disk) is logged, at most once a minute, and never fails the work
    being counted."""
    global _failed_at
    try:
        yield
    except Exception:
        if time.monotonic() - _failed_at > 60:
            _failed_at = time.monotonic()
            logger.exception("metrics: samples not recorded (PROMETHEUS_MULTIPROC_DIR: %s)",
                             os.environ.get("PROMETHEUS_MULTIPROC_DIR"))  # fmt: skip


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request (`api/issues/<str:client_issue_id>`): bounded, and
    free of ids and query strings. `unmatched` for a path no pattern serves."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route else "unmatched"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapers call every few seconds: their access lines are DEBUG.
_QUIET_PATHS = ("/healthz", "/readyz", "/metrics")


class AccessMiddleware:
    """Counts, times and logs every request: one access line each (method, route pattern,
    status, duration; never the query string). Before the middleware that may refuse a request
    (maintenance, a body too large), so those count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route, status = route_of(request), response.status_code
        method = request.method if request.method in _METHODS else "OTHER"  # the client names it: bounded here
        with counting():
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(seconds)
        level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
        if access_log.isEnabledFor(level):
            duration_ms = round(seconds * 1000, 1)
            access_log.log(level, "%s %s %s %s ms", request.method, route, status, duration_ms,
                           extra={"method": request.method, "route": route, "status": status,
                                  "duration_ms": duration_ms})  # fmt: skip
        return response


class _BacklogCollector:
    """`getitdone_webhook_backlog`: deliveries due now (ready, or waiting with their time come),
    counted through the two partial indexes that hold them, BACKLOG_CAP at most."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from webhooks.models import Delivery, DeliveryStatus, Readiness

        table = Delivery._meta.db_table
        sql = (
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE status = %s AND readiness = %s LIMIT %s) ready"
            f" UNION ALL SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE status = %s AND readiness = %s"
            f" AND next_attempt_at <= %s LIMIT %s) waiting"
        )
        pending, cap = DeliveryStatus.PENDING, BACKLOG_CAP
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, [pending, Readiness.READY, cap, pending, Readiness.WAITING, timezone.now(), cap])
                due = sum(row[0] for row in cursor.fetchall())
        except DatabaseError as exc:  # the processes' own series are all the more wanted then
            logger.warning("metrics: the backlog is left out of this scrape: %s", exc)
            return
        yield GaugeMetricFamily(
            "getitdone_webhook_backlog",
            f"Webhook deliveries due now, waiting for a worker (counted up to {BACKLOG_CAP} of each kind).",
            value=due,
        )


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Every process's samples on this host, in the Prometheus text format."""
    if not _authorized(request):
        response = HttpResponse("Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n", status=401,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
