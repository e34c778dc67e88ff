"""Sending deliveries: claim, sign, POST, record the attempt, schedule the next one.

Record before you send, and let the row be the truth. Workers claim due deliveries in batches
with a lease (`locked_until`, set by an UPDATE that re-checks each row), so two workers never
send one delivery at once, and a worker that dies mid-send only delays it until its lease runs
out.
The broker carries nothing but wake-ups ("there is work"): losing one loses nothing, because the
beat sweep wakes a drain whenever due deliveries exist.

A batch is sent concurrently by libcurl from the drain's own thread, then recorded in one
transaction. Per receiver URL, a claim takes only what keeps WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT
sends in flight across all workers, and walks the receivers one by one, so one slow receiver
can neither hold every thread nor, with its backlog, keep the others waiting.
"""

import json
import logging
import random
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.models import Integrator
from getitdone import crypto, rows
from webhooks import catalogue, signing, transport
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventSequence,
    Readiness,
    WebhookEndpoint,
    event_representation,
    unleased,
)
from webhooks.services import WAKE_FLAG, Publication, publish_many, wake_drain, webhook_disable

logger = logging.getLogger(__name__)

_HEALTH_RESOLUTION = timedelta(seconds=5)
SPREAD_FLAG = "webhooks:spread"
_SPREAD_EVERY = 0.25  # seconds


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)


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


def _claimable(now: datetime) -> Q:
    """Ready, due and not held by a live lease (the claims' rule is _DUE_SQL, which also asks
    for an active endpoint)."""
    return Q(status=DeliveryStatus.PENDING, readiness=Readiness.READY, next_attempt_at__lte=now) & unleased(now)


@contextmanager
def _relaxed_commits() -> Iterator[None]:
    """For a drain, on its connection: bookkeeping commits (leases, attempts, outcomes) need not
    wait for the disk. If one is lost in a crash the delivery is simply sent again, which
    at-least-once allows; events themselves were committed durably by their publishers."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            connection.close()  # broken or aborted: a new connection starts with the default


# Which due deliveries a claim takes: receiver URL by receiver URL, each one's oldest due
# deliveries, only as many as keep its live leases within the cap, until the batch is full.
# Walking receivers, not the oldest rows of all, is what keeps a receiver with a long backlog
# from hiding the others (its rows never fill the claim's view); starting each walk after the
# receiver the last claim ended with takes them in turns.
# On PostgreSQL: a skip scan over delivery_receiver_ready_idx steps from URL to URL (one index
# probe each, however long its backlog), first after %(start)s, then from the beginning up to it;
# per URL an index range scan and its lease count. Only URLs with ready deliveries are on that
# index: a receiver whose deliveries all wait for a retry, or whose endpoint is disabled, is not
# visited (with 3,000 such receivers, visiting each cost a claim 50 ms). The walk is read only as
# far as the batch needs (a WITH query is evaluated as far as its reader fetches), so a claim
# visits a few URLs, not every URL with pending deliveries.
_PICK_SQL = """
WITH RECURSIVE after_start(url) AS (
    (SELECT url FROM {delivery} WHERE {is_ready} AND url > %(start)s ORDER BY url LIMIT 1)
    UNION ALL
    SELECT (SELECT d.url FROM {delivery} d WHERE {is_ready_d} AND d.url > r.url ORDER BY d.url LIMIT 1)
    FROM after_start r WHERE r.url IS NOT NULL
), up_to_start(url) AS (
    (SELECT url FROM {delivery} WHERE {is_ready} ORDER BY url LIMIT 1)
    UNION ALL
    SELECT (SELECT d.url FROM {delivery} d WHERE {is_ready_d} AND d.url > r.url ORDER BY d.url LIMIT 1)
    FROM up_to_start r WHERE r.url < %(start)s
), receivers AS (
    SELECT url FROM after_start WHERE url IS NOT NULL
    UNION ALL
    SELECT url FROM up_to_start WHERE url <= %(start)s
), picked AS (
    SELECT p.id FROM receivers r CROSS JOIN LATERAL (
        SELECT d.id
        FROM {delivery} d LEFT JOIN {endpoint} e ON e.id = d.endpoint_id
        WHERE {due} AND d.url = r.url {only}
        ORDER BY d.next_attempt_at, d.id
        LIMIT GREATEST(0, LEAST(%(limit)s, %(per_receiver)s - (
            SELECT COUNT(*) FROM {delivery} f WHERE {in_flight} AND f.url = r.url
        )))
    ) p
    LIMIT %(limit)s
)
"""
# SQLite has no LATERAL: rank every due row per URL instead (the embedded database holds a
# developer's few rows).
_PICK_SQL_WINDOWED = """
WITH in_flight AS (
    SELECT f.url, COUNT(*) AS n FROM {delivery} f WHERE {in_flight} GROUP BY f.url
), candidates AS (
    SELECT d.id, d.url, d.next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY d.url ORDER BY d.next_attempt_at, d.id) AS rank
    FROM {delivery} d LEFT JOIN {endpoint} e ON e.id = d.endpoint_id
    WHERE {due} {only}
), picked AS (
    SELECT c.id FROM candidates c LEFT JOIN in_flight f ON f.url = c.url
    WHERE c.rank <= %(per_receiver)s - COALESCE(f.n, 0)
    ORDER BY c.next_attempt_at, c.id
    LIMIT %(limit)s
)
"""
# The lease re-checks each picked row (a row another claim or a disable changed meanwhile is
# skipped), inside a CASE: so written, no condition but the key can lead the planner to an index.
# With the conditions bare, statistics taken while the table was empty had it scan every ready
# delivery for the picked ids (100,000 ready rows: 216 ms a claim, against 5 ms by key).
_LEASE_SQL = """
UPDATE {delivery} SET locked_until = %(lease)s
WHERE id {picked}
  AND CASE WHEN {is_ready} AND next_attempt_at <= %(now)s AND (locked_until IS NULL OR locked_until < %(now)s)
      THEN true ELSE false END
RETURNING id, url, attempt_count, manual_attempt_count, status_before_retry, next_attempt_before_retry,
          event_id, endpoint_id, integrator_id
"""
# What sending needs, in _Job.load's order: on PostgreSQL read in the leasing statement itself.
_LOAD_SQL = """
SELECT l.id, l.url, l.attempt_count, l.manual_attempt_count, l.status_before_retry, l.next_attempt_before_retry,
       l.event_id, l.endpoint_id,
       ev.type, ev.created_at, ev.sequence, ev.api_version, ev.data,
       ep.secret, ep.previous_secret, ep.previous_secret_expires_at, i.webhook_secret, l.integrator_id
FROM leased l JOIN {event} ev ON ev.id = l.event_id
LEFT JOIN {endpoint} ep ON ep.id = l.endpoint_id
JOIN {integrator} i ON i.id = l.integrator_id
"""
_CLAIM_LOCK = 0x57EB_0001  # the advisory lock claims take turns on

# Retries whose time has come are made ready (paused, if their endpoint was disabled meanwhile):
# before each claim, in its turn, and by the sweep. Few rows at a time, found by time on
# delivery_waiting_idx.
_PROMOTE_SQL = """
UPDATE {delivery} SET readiness = CASE
    WHEN endpoint_id IS NULL OR endpoint_id IN (SELECT id FROM {endpoint} WHERE is_active) THEN '{ready}'
    ELSE '{paused}' END
WHERE status = '{pending}' AND readiness = '{waiting}' AND next_attempt_at <= %(now)s
"""


def _promote_sql() -> str:
    return _PROMOTE_SQL.format(**_tables())


class _Walk:
    """Per process: the receiver URL the last claim ended with (threads may race on it: then
    two walks start at the same place, which costs nothing but the turn)."""

    start = ""


_walk = _Walk()

_LOAD_FIELDS = (
    "id", "url", "attempt_count", "manual_attempt_count", "status_before_retry", "next_attempt_before_retry",
    "event_id", "endpoint_id",
    "event__type", "event__created_at", "event__sequence", "event__api_version", "event__data",
    "endpoint__secret", "endpoint__previous_secret", "endpoint__previous_secret_expires_at",
    "integrator__webhook_secret", "integrator_id",
)  # fmt: skip


@dataclass
class _Job:
    """A leased delivery: what sending and recording it need, as plain values (building model
    instances for a batch cost more CPU than sending it)."""

    id: int
    url: str
    attempt_count: int  # automatic attempts: the retry schedule's
    manual_attempt_count: int
    # Set while the attempt to make is a manual retry: the status it restores if it fails, and
    # the time of the next automatic attempt (see Delivery.status_before_retry).
    status_before_retry: str
    next_attempt_before_retry: datetime | None
    event_id: str
    endpoint_id: int | None
    body: bytes
    secrets: list[str]
    event_type: str = ""
    integrator_id: int = 0
    lease: datetime | None = None  # our locked_until: the outcome is recorded only while it is still the row's
    status: str = DeliveryStatus.PENDING
    next_attempt_at: datetime | None = None
    readiness: str = Readiness.READY

    @classmethod
    def load(cls, row: tuple, now: datetime, *, raw: bool) -> "_Job":
        """`raw`: the row was read by SQL, not the ORM, so its secrets are still encrypted."""
        (pk, url, attempt_count, manual_attempt_count, status_before_retry, next_attempt_before_retry, event_id,
         endpoint_id, type_, created_at, sequence, api_version, data,
         secret, previous_secret, previous_expires, integrator_secret, integrator_id) = row  # fmt: skip
        if isinstance(data, str):  # jsonb as text: Django leaves decoding to the field
            data = json.loads(data)
        payload = event_representation(event_id, type_, created_at, sequence, api_version, data)
        clear = crypto.decrypt if raw else str  # memoized: cheap for a batch
        if endpoint_id is None:
            secrets = [clear(integrator_secret)]  # the issue's own webhook_url
        else:
            secrets = [clear(secret)]
            if previous_secret and previous_expires and previous_expires > now:
                secrets.append(clear(previous_secret))  # a rotation's old secret signs for 24 h more
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(
            pk, url, attempt_count, manual_attempt_count, status_before_retry, next_attempt_before_retry, event_id,
            endpoint_id, body, secrets, type_, integrator_id,
        )  # fmt: skip

    @property
    def manual(self) -> bool:
        return bool(self.status_before_retry)

    @property
    def number(self) -> int:
        """The attempt's number (once counted by _record): automatic and manual ones in turn."""
        return self.attempt_count + self.manual_attempt_count


# What makes a delivery `d` (endpoint `e`) claimable, and a delivery `f` in flight, for both
# picks; _claimable() says the first for the ORM.
_DUE_SQL = """d.status = '{pending}' AND d.readiness = '{ready}' AND d.next_attempt_at <= %(now)s
      AND (d.locked_until IS NULL OR d.locked_until < %(now)s)
      AND (d.endpoint_id IS NULL OR e.is_active)"""
_IN_FLIGHT_SQL = "f.status = '{pending}' AND f.locked_until >= %(now)s"


def _tables(only: str = "") -> dict[str, str]:
    pending = DeliveryStatus.PENDING  # literals: partial indexes match only literals
    ready = Readiness.READY
    return {
        "delivery": Delivery._meta.db_table,
        "endpoint": WebhookEndpoint._meta.db_table,
        "event": Event._meta.db_table,
        "integrator": Integrator._meta.db_table,
        "pending": pending,
        "ready": ready,
        "waiting": Readiness.WAITING,
        "paused": Readiness.PAUSED,
        "is_ready": f"status = '{pending}' AND readiness = '{ready}'",
        "is_ready_d": f"d.status = '{pending}' AND d.readiness = '{ready}'",
        "due": _DUE_SQL.format(pending=pending, ready=ready),
        "in_flight": _IN_FLIGHT_SQL.format(pending=pending),
        "only": only,
    }


class _Prepared:
    """A statement PostgreSQL plans once per connection (PREPARE), then runs (EXECUTE): for the
    drain's statements, planning afresh cost about as much as running them. Django binds
    parameters on the client, so this is the way to a server-side plan."""

    _by_connection: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()

    def __init__(self, name: str, parameters: dict[str, str], sql: Callable[[], str]) -> None:
        self.name = name
        self.parameters = parameters  # name: SQL type, in order; `%(name)s` in the SQL
        self.sql = sql  # built on first use, when the models' tables are known

    def executable(self, cursor: Any) -> str:
        """`EXECUTE name(%s, …)` (parameters in the order of `parameters`), PREPAREd first if this
        connection has not yet."""
        prepared = self._by_connection.setdefault(connection.connection, set())
        if self.name not in prepared:
            sql = self.sql()
            for number, name in enumerate(self.parameters, start=1):
                sql = sql.replace(f"%({name})s", f"${number}")
            cursor.execute(f"PREPARE {self.name}({', '.join(self.parameters.values())}) AS {sql}")
            prepared.add(self.name)  # PREPARE outlives a rollback: it is the session's
        return f"EXECUTE {self.name}({', '.join(['%s'] * len(self.parameters))})"

    def execute(
        self, cursor: Any, values: dict[str, Any], *, first: str = "", first_params: list | None = None
    ) -> None:
        """EXECUTE it, preparing it first on a new connection. `first` (with its parameters) is
        sent ahead of it in the same query string; the result is this statement's."""
        execute = self.executable(cursor)
        cursor.execute(
            f"{first}; {execute}" if first else execute,
            [*(first_params or []), *(values[name] for name in self.parameters)],
        )
        while first and cursor.nextset():
            pass  # to the last result: this statement's


_PROMOTE = _Prepared("webhooks_promote", {"now": "timestamptz"}, _promote_sql)


def _claim_sql_postgresql() -> str:
    tables = _tables(only="AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s::bigint[]))")
    # `= ANY(ARRAY(…))`: the planner joins the few picked ids, not every due row.
    lease = _LEASE_SQL.format(picked="= ANY(ARRAY(SELECT id FROM picked))", **tables)
    return _PICK_SQL.format(**tables).rstrip() + f", leased AS ({lease})" + _LOAD_SQL.format(**tables)


_CLAIM = _Prepared(
    "webhooks_claim",
    {
        "now": "timestamptz",
        "per_receiver": "integer",
        "limit": "integer",
        "lease": "timestamptz",
        "start": "text",
        "ids": "bigint[]",
    },
    _claim_sql_postgresql,
)


def _claim_rows_postgresql(cursor: Any, params: dict[str, Any]) -> list[tuple]:
    # Claims take turns, so each sees the leases of the one before and the per-receiver cap
    # holds across workers: the lock, then the claim, sent as one query string, which PostgreSQL
    # runs as one transaction (inside the caller's, if there is one) and each statement with a
    # snapshot of its own, taken once the lock is ours. One round trip: no Python thread waits
    # for the GIL while holding the lock (with a round trip for each of lock, claim and commit,
    # a worker's 16 threads made each claim wait ~10 ms for the others).
    # For that transaction only, the claim runs its generic plan: left to choose, PostgreSQL
    # planned it afresh each time (~2 ms, more than running it), and the generic plan uses the
    # same indexes (their predicate is a literal in the statement, not a parameter; with a
    # parameter it scanned the table).
    # Due retries are made ready first, in a statement of their own, so that the claim sees them.
    _CLAIM.execute(
        cursor,
        params,
        first="SELECT pg_advisory_xact_lock(%s), set_config('plan_cache_mode', 'force_generic_plan', true); "
        + _PROMOTE.executable(cursor),
        first_params=[_CLAIM_LOCK, params["now"]],
    )
    return cursor.fetchall()


def _claim(*, ids: list[int] | None = None, limit: int = 1) -> list[_Job]:
    """Lease up to `limit` due deliveries and load what sending them needs.

    Per receiver URL, only as many as leave WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT in flight (counting
    other workers' live leases), so one slow receiver cannot take every drain, and its backlog
    cannot hide the other receivers' deliveries (see _PICK_SQL). On PostgreSQL claims take turns
    on an advisory lock, so each sees the leases the one before committed; the UPDATE still
    re-checks each row, so a row goes to one drain whatever the database.
    """
    now = timezone.now()
    params: dict[str, Any] = {
        "now": now,
        "per_receiver": settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT,
        "limit": limit,
        "lease": now + _lease(),
        "start": _walk.start,
        "ids": ids,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = _claim_rows_postgresql(cursor, params)
            if rows:  # the next walk starts after the receiver this one ended with
                urls = {row[1] for row in rows}
                _walk.start = max((url for url in urls if url > params["start"]), default=max(urls))
        else:  # SQLite: no UPDATE inside WITH, so lease, then read
            cursor.execute(_promote_sql(), {"now": now})
            only = ""
            if ids is not None:
                only = "AND d.id IN (" + ", ".join(f"%(id{n})s" for n in range(len(ids))) + ")"
                params.update({f"id{n}": pk for n, pk in enumerate(ids)})
            tables = _tables(only)
            lease = _LEASE_SQL.format(picked="IN (SELECT id FROM picked)", **tables)
            # Stored as the ORM stores it, so that recording the outcome finds it (_write_outcomes).
            stored = {**params, "lease": connection.ops.adapt_datetimefield_value(params["lease"])}
            cursor.execute(_PICK_SQL_WINDOWED.format(**tables) + lease, stored)
            leased = [row[0] for row in cursor.fetchall()]
            rows = list(Delivery.objects.filter(pk__in=leased).values_list(*_LOAD_FIELDS)) if leased else []
    jobs = [_Job.load(row, now, raw=connection.vendor == "postgresql") for row in rows]
    for job in jobs:
        job.lease = params["lease"]
    return jobs


@dataclass
class _Sent:
    job: _Job
    result: transport.PostResult


def _request(job: _Job) -> transport.Request:
    timestamp = int(time.time())
    headers = {
        "webhook-id": job.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(job.secrets, job.event_id, timestamp, job.body),
    }
    return transport.Request(job.url, job.body, headers, owner=job.integrator_id)


def _send(batch: list[_Job]) -> list[_Sent]:
    results = transport.post_many([_request(job) for job in batch])
    return [_Sent(job, result) for job, result in zip(batch, results, strict=True)]


def delivery_attempt(delivery_id: int) -> str:
    """Send one delivery now if it is due and nobody holds it. Returns what happened."""
    with _relaxed_commits():
        claimed = _claim(ids=[delivery_id])
        if not claimed:
            return "not_due"
        return _record(_send(claimed))[0]


def deliveries_drain(*, batch_size: int | None = None, max_batches: int = 1000) -> int:
    """Claim and send batches of due deliveries until none is left. Returns how many were sent.

    A full batch wakes one more drain first (at most four a second across the workers, each a
    Celery message), so that a backlog spreads over the worker threads.
    """
    size = batch_size or settings.WEBHOOKS_BATCH_SIZE
    with _relaxed_commits():
        return _drain(size, max_batches)


def _drain(size: int, max_batches: int) -> int:
    sent = 0
    for _ in range(max_batches):
        batch = _claim(limit=size)
        if not batch:
            # Done: clear the wake-up flag, then look once more. A commit that found the flag
            # still set woke nobody, and this look sees it; a commit after the clear wakes a new
            # drain. (Clearing it before every claim made nearly every commit under load pay
            # for a Celery message, and the workers for a drain that found nothing.)
            cache.delete(WAKE_FLAG)
            batch = _claim(limit=size)
            if not batch:
                break
        # At work: the flag stays set (it may have been cleared just above, or have expired), or
        # each commit from now on would wake one more drain to poll beside this one, and their
        # claims would queue on each other.
        cache.add(WAKE_FLAG, 1, timeout=settings.WEBHOOKS_WAKE_COALESCE_SECONDS)
        if len(batch) == size and cache.add(SPREAD_FLAG, 1, timeout=_SPREAD_EVERY):
            wake_drain(force=True)  # a backlog: one more drain helps, a few times a second at most
        _record(_send(batch))
        sent += len(batch)
    return sent


def _record(sent: list[_Sent]) -> list[str]:
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
    with transaction.atomic():
        recorded = _write_outcomes(sent, now)
        if any(not item.result.ok for item in sent):
            _lock_sequences({item.job.integrator_id for item in sent if not item.result.ok})
        ended = [item.job for item, outcome in zip(sent, outcomes, strict=True)
                 if item.job.id in recorded and outcome in ("failed", "gone") and not item.job.manual]  # fmt: skip
        _report_exhausted(ended)
        for endpoint_id, result in sorted(deciding.items()):  # in one order: two drains cannot deadlock
            _update_health(endpoint_id, result, now)
    return outcomes


def _lock_sequences(integrator_ids: set[int]) -> None:
    """Before a batch's failures may publish operational events (exhausted, disabled): their
    integrators' event counters, in id order. PostgreSQL's commit-time trigger would otherwise
    take them in the order the events were inserted, and two drains whose batches mix the same
    integrators the other way round would deadlock at COMMIT."""
    if connection.vendor != "postgresql" or not integrator_ids:
        return  # elsewhere the counter is taken at insert, and SQLite serializes writers anyway
    ids = sorted(integrator_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT integrator_id FROM {EventSequence._meta.db_table} WHERE integrator_id IN"
            f" ({rows.placeholders(ids)}) ORDER BY integrator_id FOR UPDATE",
            ids,
        )


def _report_exhausted(jobs: list[_Job]) -> None:
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


def _log(sent: list[_Sent], outcomes: list[str]) -> None:
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
                job.id, job.event_id, job.url, "manual" if job.manual else "automatic", job.number, outcome,
                result.http_status or result.error, result.duration_ms,
            )  # fmt: skip
    if succeeded:
        logger.info("sent %s deliveries, %s succeeded", len(sent), succeeded)


# The UPDATE first: it locks each delivery that still exists (its endpoint may have been deleted
# while it was being sent) and is still leased to us, and only those get an attempt row. A lease
# that ran out mid-send may have been followed by a manual retry or another drain's claim: the
# late outcome must not overwrite them (the retry's "send now" would be lost).
_RECORD_SQL = """
WITH outcome AS (
    SELECT * FROM json_to_recordset(%(outcomes)s) AS o(
        delivery_id bigint, number integer, manual boolean, automatic integer, manual_count integer,
        http_status integer, duration_ms integer, error text, response_body text, status text, readiness text,
        next_attempt_at timestamptz, lease timestamptz)
), updated AS (
    UPDATE {delivery} d
    SET status = o.status, attempt_count = o.automatic, manual_attempt_count = o.manual_count,
        next_attempt_at = o.next_attempt_at, readiness = o.readiness, locked_until = NULL,
        status_before_retry = '', next_attempt_before_retry = NULL, updated_at = %(now)s
    FROM outcome o WHERE d.id = o.delivery_id AND d.id = ANY(%(ids)s) AND d.locked_until = o.lease
    RETURNING d.id
)
INSERT INTO {attempt} (delivery_id, number, manual, http_status, duration_ms, error, response_body, at)
SELECT o.delivery_id, o.number, o.manual, o.http_status, o.duration_ms, o.error, o.response_body, %(now)s
FROM outcome o JOIN updated u ON u.id = o.delivery_id
RETURNING delivery_id
"""


_RECORD = _Prepared(
    "webhooks_record",
    # `ids` as well as the outcomes: the planner cannot size json_to_recordset, and without the
    # array it joined a small batch to the whole table (a sequential scan per batch).
    {"outcomes": "json", "ids": "bigint[]", "now": "timestamptz"},
    lambda: _RECORD_SQL.format(attempt=DeliveryAttempt._meta.db_table, delivery=Delivery._meta.db_table),
)


def _write_outcomes(sent: list[_Sent], now: datetime) -> set[int]:
    """Each delivery's new state and attempt log row; a delivery deleted meanwhile (with its
    endpoint), or no longer leased to us, is skipped, not the batch. On PostgreSQL one statement
    from a JSON parameter (the ORM's INSERT and UPDATEs cost more CPU than sending the batch);
    elsewhere through the ORM. Returns the ids recorded."""
    if connection.vendor != "postgresql":
        still_there = [
            s for s in sent
            if Delivery.objects.filter(pk=s.job.id, locked_until=s.job.lease).update(
                status=s.job.status, attempt_count=s.job.attempt_count, manual_attempt_count=s.job.manual_attempt_count,
                next_attempt_at=s.job.next_attempt_at, readiness=s.job.readiness, locked_until=None,
                status_before_retry="", next_attempt_before_retry=None, updated_at=now,
            )
        ]  # fmt: skip
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery_id=s.job.id, number=s.job.number, manual=s.job.manual, http_status=s.result.http_status,
                duration_ms=s.result.duration_ms, error=s.result.error, response_body=s.result.response_body,
            )
            for s in still_there
        )  # fmt: skip
        _log_skipped(len(sent) - len(still_there))
        return {s.job.id for s in still_there}
    outcomes = [
        {
            "delivery_id": s.job.id, "number": s.job.number, "manual": s.job.manual,
            "automatic": s.job.attempt_count, "manual_count": s.job.manual_attempt_count,
            "http_status": s.result.http_status,
            "duration_ms": s.result.duration_ms, "error": s.result.error, "response_body": s.result.response_body,
            "status": s.job.status, "readiness": s.job.readiness,
            "next_attempt_at": s.job.next_attempt_at.isoformat() if s.job.next_attempt_at else None,
            "lease": s.job.lease.isoformat() if s.job.lease else None,
        }
        for s in sent
    ]  # fmt: skip
    with connection.cursor() as cursor:
        _RECORD.execute(cursor, {"outcomes": json.dumps(outcomes), "ids": [s.job.id for s in sent], "now": now})
        recorded = {row[0] for row in cursor.fetchall()}
    _log_skipped(len(sent) - len(recorded))
    return recorded


def _log_skipped(count: int) -> None:
    if count:
        logger.warning("%s outcomes not recorded: deleted meanwhile, or leased again after our lease ran out", count)


def _next_state(job: _Job, result: transport.PostResult, now: datetime) -> str:
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


# Per process: when this process last wrote an endpoint's success. Within _HEALTH_RESOLUTION it
# skips even the (usually empty) UPDATE below; a failure another process wrote meanwhile is
# cleared by this process's first success once those seconds have passed.
_success_written: dict[int, datetime] = {}


def _update_health(endpoint_id: int, result: transport.PostResult, now: datetime) -> None:
    if result.ok:
        written = _success_written.get(endpoint_id)
        if written is not None and timedelta(0) <= now - written < _HEALTH_RESOLUTION:
            return
        _success_written[endpoint_id] = now
        # Every success would otherwise rewrite the same endpoint row, and concurrent senders to
        # one endpoint would queue on its row lock: write only when something changes (a streak
        # ends) or the timestamp is more than a few seconds old.
        WebhookEndpoint.objects.filter(pk=endpoint_id).filter(
            Q(failure_streak__gt=0) | Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - _HEALTH_RESOLUTION)
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


# Active endpoints with paused deliveries: one probe of delivery_paused_idx per active endpoint
# (a subquery with LIMIT is run per row, not turned into a join that reads every paused row).
_PAUSED_BUT_ACTIVE_SQL = """
SELECT e.id FROM {endpoint} e
WHERE e.is_active AND (
    SELECT 1 FROM {delivery} d
    WHERE d.endpoint_id = e.id AND d.status = '{pending}' AND d.readiness = '{paused}' LIMIT 1
) IS NOT NULL
"""


def _resume_paused() -> int:
    """Ready what is paused for an endpoint that is active: enabling it does so, but an endpoint
    can become active by other ways (a save that raced a disable, a disable whose pausing ran
    after an enable); this makes any of them right within a sweep. Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(_PAUSED_BUT_ACTIVE_SQL.format(**_tables()))
        endpoints = [row[0] for row in cursor.fetchall()]
    if not endpoints:
        return 0
    resumed = Delivery.objects.filter(
        endpoint_id__in=endpoints, endpoint__is_active=True, status=DeliveryStatus.PENDING, readiness=Readiness.PAUSED
    ).update(readiness=Readiness.READY)
    logger.warning("resumed %s paused deliveries of active endpoints %s", resumed, endpoints)
    return resumed


def deliveries_due() -> bool:
    """Whether anything can be claimed now (retries whose time has come are made ready first,
    and paused deliveries of active endpoints)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_promote_sql(), {"now": now})
    _resume_paused()
    return (
        Delivery.objects.filter(_claimable(now)).filter(Q(endpoint__isnull=True) | Q(endpoint__is_active=True)).exists()
    )


def deliveries_sweep() -> bool:
    """Beat's safety net: retries whose time has come, wake-ups lost with a broker outage,
    leases of dead workers. If anything is due, wake a drain. Returns whether anything was."""
    due = deliveries_due()
    if due:
        wake_drain(force=True)
        logger.debug("sweep: deliveries due, drain woken")
    return due
