"""Every SQL statement of delivery, and the one place each rule and column list is written.

The claimable rule (`_claimable`) is written once and used by the pick, the lease's re-check and
the sweep's look; what a claim loads is `LOAD_FIELDS`, from which both the PostgreSQL select
list and the embedded database's `values_list` are generated, and which `Job.load` reads by
name. Statements are built on first use (functools.cache), when the models' tables are known.
Status and readiness are literals in the SQL, not parameters: partial indexes match only
literals.
"""

import functools
import weakref
from collections.abc import Callable
from typing import Any

from django.db import connection

from fulfillment.models import Integrator
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, EventSequence, Readiness, WebhookEndpoint

CLAIM_LOCK = 0x57EB_0001  # the advisory lock claims take turns on (PostgreSQL)

# What sending a delivery needs, as ORM paths: the delivery's own columns, then its event's,
# endpoint's and integrator's.
LOAD_FIELDS = (
    "id", "url", "attempt_count", "manual_attempt_count", "status_before_retry", "next_attempt_before_retry",
    "event_id", "endpoint_id", "integrator_id",
    "event__type", "event__created_at", "event__sequence", "event__api_version", "event__data", "event__traceparent",
    "endpoint__secret", "endpoint__previous_secret", "endpoint__previous_secret_expires_at",
    "integrator__webhook_secret",
)  # fmt: skip
# Their tables in the load statement: `l` is what the lease returned.
_RELATIONS = {
    "": ("l", Delivery), "event": ("ev", Event), "endpoint": ("ep", WebhookEndpoint), "integrator": ("i", Integrator)
}  # fmt: skip

# One recorded outcome, by name (a JSON object per delivery), with its SQL type.
OUTCOME_COLUMNS = {
    "delivery_id": "bigint", "number": "integer", "manual": "boolean", "automatic": "integer",
    "manual_count": "integer", "http_status": "integer", "duration_ms": "integer", "error": "text",
    "response_body": "text", "status": "text", "readiness": "text", "next_attempt_at": "timestamptz",
    "lease": "timestamptz",
}  # fmt: skip

_PENDING = DeliveryStatus.PENDING
_READY = Readiness.READY


def _ready(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"{prefix}status = '{_PENDING}' AND {prefix}readiness = '{_READY}'"


def _claimable(alias: str = "") -> str:
    """Ready, due and not held by a live lease: the one statement of the lease rule."""
    prefix = f"{alias}." if alias else ""
    return (
        f"{_ready(alias)} AND {prefix}next_attempt_at <= %(now)s"
        f" AND ({prefix}locked_until IS NULL OR {prefix}locked_until < %(now)s)"
    )


def _tables(only: str = "") -> dict[str, str]:
    return {
        "delivery": Delivery._meta.db_table,
        "endpoint": WebhookEndpoint._meta.db_table,
        "event": Event._meta.db_table,
        "integrator": Integrator._meta.db_table,
        "attempt": DeliveryAttempt._meta.db_table,
        "sequence": EventSequence._meta.db_table,
        "pending": _PENDING,
        "ready": _READY,
        "waiting": Readiness.WAITING,
        "paused": Readiness.PAUSED,
        "is_ready": _ready(),
        "is_ready_d": _ready("d"),
        # Claimable, for a delivery `d` whose endpoint (if it has one) `e` is active.
        "due": f"{_claimable('d')} AND (d.endpoint_id IS NULL OR e.is_active)",
        "in_flight": f"f.status = '{_PENDING}' AND f.locked_until >= %(now)s",
        "only": only,
    }


# Which due deliveries a claim takes: receiver URL by receiver URL, each one's oldest due
# deliveries, only as many as keep its live leases within WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT,
# until the batch is full. Walking receivers, not the oldest rows of all, keeps a receiver with a
# long backlog from hiding the others; starting after the receiver the last claim ended with
# (%(start)s) takes them in turns.
# A skip scan over delivery_receiver_ready_idx steps from URL to URL (one probe each, however long
# its backlog), only over URLs with ready deliveries, and only as far as the batch needs: a WITH
# query is evaluated as far as its reader fetches (commit 865ecda).
_PICK = """
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
# The embedded database (SQLite) has no LATERAL: rank every due row per URL instead (it holds a
# developer's few rows).
_PICK_WINDOWED = """
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
# The lease re-checks each picked row (one another claim or a disable changed meanwhile is
# skipped). The re-check sits in a CASE so that only the key can lead the planner to an index
# (commit e4bfa3c).
_LEASE = """
UPDATE {delivery} SET locked_until = %(lease)s
WHERE id {picked} AND CASE WHEN {claimable} THEN true ELSE false END
RETURNING {returning}
"""
_LOAD = """
SELECT {select}
FROM leased l JOIN {event} ev ON ev.id = l.event_id
LEFT JOIN {endpoint} ep ON ep.id = l.endpoint_id
JOIN {integrator} i ON i.id = l.integrator_id
"""
# Retries whose time has come are made ready (paused, if their endpoint was disabled meanwhile):
# before each claim, and by the sweep. Few rows at a time, found by time on delivery_waiting_idx.
_PROMOTE = """
UPDATE {delivery} SET readiness = CASE
    WHEN endpoint_id IS NULL OR endpoint_id IN (SELECT id FROM {endpoint} WHERE is_active) THEN '{ready}'
    ELSE '{paused}' END
WHERE status = '{pending}' AND readiness = '{waiting}' AND next_attempt_at <= %(now)s
"""
_ANY_DUE = "SELECT 1 FROM {delivery} d LEFT JOIN {endpoint} e ON e.id = d.endpoint_id WHERE {due} LIMIT 1"
# The UPDATE first: it locks each delivery that still exists (its endpoint may have been deleted
# while it was sent) and is still leased to us, and only those get an attempt row. A lease that
# ran out mid-send may have been followed by a manual retry or another drain's claim: the late
# outcome must not overwrite them (the retry's "send now" would be lost).
_RECORD = """
WITH outcome AS (
    SELECT * FROM json_to_recordset(%(outcomes)s) AS o({columns})
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
# Active endpoints with paused deliveries: one probe of delivery_paused_idx per active endpoint
# (a subquery with LIMIT runs per row, rather than a join that reads every paused row).
_PAUSED_BUT_ACTIVE = """
SELECT e.id FROM {endpoint} e
WHERE e.is_active AND (
    SELECT 1 FROM {delivery} d
    WHERE d.endpoint_id = e.id AND d.status = '{pending}' AND d.readiness = '{paused}' LIMIT 1
) IS NOT NULL
"""
# Disabled endpoints with ready deliveries (a publish that raced the disable, a lease that ran
# out): one probe of delivery_receiver_ready_idx per disabled endpoint (pending deliveries are
# to their endpoint's URL: a PATCH moves them).
_READY_BUT_DISABLED = """
SELECT e.id FROM {endpoint} e
WHERE NOT e.is_active AND (
    SELECT 1 FROM {delivery} d
    WHERE d.url = e.url AND d.endpoint_id = e.id AND d.status = '{pending}' AND d.readiness = '{ready}' LIMIT 1
) IS NOT NULL
"""
_LOCK_SEQUENCES = """
SELECT integrator_id FROM {sequence} WHERE integrator_id = ANY(%(ids)s) ORDER BY integrator_id FOR UPDATE
"""


def _load_column(path: str) -> tuple[str, str]:
    relation, _, name = path.rpartition("__")
    alias, model = _RELATIONS[relation]
    return alias, model._meta.get_field(name).column


@functools.cache
def _returning() -> str:
    """What the lease returns: the delivery's own LOAD_FIELDS."""
    return ", ".join(column for alias, column in map(_load_column, LOAD_FIELDS) if alias == "l")


@functools.cache
def claim_postgresql() -> str:
    """Promoted, picked, leased and loaded in one statement; `ids` NULL for any due delivery."""
    tables = _tables(only="AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s::bigint[]))")
    # `= ANY(ARRAY(…))`: the planner joins the few picked ids, not every due row.
    lease = _LEASE.format(
        picked="= ANY(ARRAY(SELECT id FROM picked))", claimable=_claimable(), returning=_returning(), **tables
    )
    select = ", ".join(f"{alias}.{column}" for alias, column in map(_load_column, LOAD_FIELDS))
    return _PICK.format(**tables).rstrip() + f", leased AS ({lease})" + _LOAD.format(select=select, **tables)


def lease_embedded(only: str) -> str:
    """Pick and lease, returning the leased ids (SQLite has no UPDATE inside WITH: the load is a
    second query)."""
    tables = _tables(only)
    lease = _LEASE.format(picked="IN (SELECT id FROM picked)", claimable=_claimable(), returning="id", **tables)
    return _PICK_WINDOWED.format(**tables) + lease


@functools.cache
def promote() -> str:
    return _PROMOTE.format(**_tables())


@functools.cache
def any_due() -> str:
    return _ANY_DUE.format(**_tables())


@functools.cache
def record() -> str:
    columns = ", ".join(f"{name} {type_}" for name, type_ in OUTCOME_COLUMNS.items())
    return _RECORD.format(columns=columns, **_tables())


@functools.cache
def paused_but_active() -> str:
    return _PAUSED_BUT_ACTIVE.format(**_tables())


@functools.cache
def ready_but_disabled() -> str:
    return _READY_BUT_DISABLED.format(**_tables())


@functools.cache
def lock_sequences() -> str:
    return _LOCK_SEQUENCES.format(**_tables())


class Prepared:
    """A statement PostgreSQL plans once per connection (PREPARE), then runs (EXECUTE): for the
    drain's statements, planning afresh cost about as much as running them. Django binds
    parameters on the client, so this is the way to a server-side plan."""

    _by_connection: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()

    def __init__(self, name: str, parameters: dict[str, str], sql: Callable[[], str]) -> None:
        self.name = name
        self.parameters = parameters  # name: SQL type, in order; `%(name)s` in the SQL
        self.sql = sql

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


PROMOTE = Prepared("webhooks_promote", {"now": "timestamptz"}, promote)
CLAIM = Prepared(
    "webhooks_claim",
    {
        "now": "timestamptz",
        "per_receiver": "integer",
        "limit": "integer",
        "lease": "timestamptz",
        "start": "text",
        "ids": "bigint[]",
    },
    claim_postgresql,
)
# `ids` as well as the outcomes: the planner cannot size json_to_recordset, and without the
# array it joined a small batch to the whole table (a sequential scan per batch).
RECORD = Prepared("webhooks_record", {"outcomes": "json", "ids": "bigint[]", "now": "timestamptz"}, record)
