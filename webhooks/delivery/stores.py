"""How each database leases and records: PostgreSQL in production, SQLite for `make run`'s
embedded default. Both do the same four things; `current()` is the one place the vendor is asked.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection

from webhooks.delivery import sql
from webhooks.delivery.jobs import Job, Sent
from webhooks.models import Delivery, DeliveryAttempt


class PostgreSQL:
    @staticmethod
    @contextmanager
    def relaxed_commits() -> Iterator[None]:
        """For a drain, on its connection: bookkeeping commits (leases, attempts, outcomes) need
        not wait for the disk. If one is lost in a crash the delivery is simply sent again, which
        at-least-once allows; events themselves were committed durably by their publishers."""
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

    @staticmethod
    def lease(params: dict[str, Any], now: datetime) -> list[Job]:
        """Promote due retries, then pick, lease and load, in one round trip.

        Claims take turns on an advisory lock, so each sees the leases of the one before and the
        per-receiver cap holds across workers. Lock and claim go as one query string, which
        PostgreSQL runs as one transaction (inside the caller's, if any), each statement with its
        own snapshot, taken once the lock is ours: no Python thread waits for the GIL while it
        holds the lock. For that transaction the claim runs its generic plan (planning it afresh
        cost more than running it; the indexes' predicates are literals, so the generic plan uses
        them too).
        """
        with connection.cursor() as cursor:
            sql.CLAIM.execute(
                cursor,
                params,
                first="SELECT pg_advisory_xact_lock(%s), set_config('plan_cache_mode', 'force_generic_plan', true); "
                + sql.PROMOTE.executable(cursor),
                first_params=[sql.CLAIM_LOCK, now],
            )
            rows = cursor.fetchall()
        return [Job.load(row, now, params["lease"], encrypted=True) for row in rows]

    @staticmethod
    def write(sent: list[Sent], now: datetime) -> set[int]:
        """Every outcome in one statement from a JSON parameter (the ORM's INSERT and UPDATEs
        cost more CPU than sending the batch). Returns the ids recorded."""
        outcomes = [
            {
                "delivery_id": s.job.id, "number": s.job.number, "manual": s.job.manual,
                "automatic": s.job.attempt_count, "manual_count": s.job.manual_attempt_count,
                "http_status": s.result.http_status, "duration_ms": s.result.duration_ms,
                "error": s.result.error, "response_body": s.result.response_body,
                "status": s.job.status, "readiness": s.job.readiness,
                "next_attempt_at": s.job.next_attempt_at.isoformat() if s.job.next_attempt_at else None,
                "lease": s.job.lease.isoformat(),
            }
            for s in sent
        ]  # fmt: skip
        with connection.cursor() as cursor:
            values = {"outcomes": json.dumps(outcomes), "ids": [s.job.id for s in sent], "now": now}
            sql.RECORD.execute(cursor, values)
            return {row[0] for row in cursor.fetchall()}

    @staticmethod
    def lock_sequences(integrator_ids: set[int]) -> None:
        """Before a batch's failures may publish operational events (exhausted, disabled): their
        integrators' event counters, in id order. The commit-time trigger would otherwise take
        them in the order the events were inserted, and two drains whose batches mix the same
        integrators the other way round would deadlock at COMMIT."""
        if integrator_ids:
            with connection.cursor() as cursor:
                cursor.execute(sql.lock_sequences(), {"ids": sorted(integrator_ids)})


class Embedded:
    """SQLite: one writer at a time, a developer's few rows."""

    @staticmethod
    def relaxed_commits() -> nullcontext:
        return nullcontext()

    @staticmethod
    def lease(params: dict[str, Any], now: datetime) -> list[Job]:
        with connection.cursor() as cursor:
            cursor.execute(sql.promote(), {"now": now})
            only = ""
            ids = params["ids"]
            if ids is not None:
                only = "AND d.id IN (" + ", ".join(f"%(id{n})s" for n in range(len(ids))) + ")"
                params = {**params, **{f"id{n}": pk for n, pk in enumerate(ids)}}
            # Stored as the ORM stores it, so that writing the outcome finds it (`write`).
            stored = {**params, "lease": connection.ops.adapt_datetimefield_value(params["lease"])}
            cursor.execute(sql.lease_embedded(only), stored)
            leased = [row[0] for row in cursor.fetchall()]
        if not leased:
            return []
        rows = Delivery.objects.filter(pk__in=leased).values_list(*sql.LOAD_FIELDS)
        return [Job.load(row, now, params["lease"], encrypted=False) for row in rows]

    @staticmethod
    def write(sent: list[Sent], now: datetime) -> set[int]:
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
        return {s.job.id for s in still_there}

    @staticmethod
    def lock_sequences(integrator_ids: set[int]) -> None:
        """Nothing to do: the counter is taken at insert, and SQLite serializes writers anyway."""


def current() -> type[PostgreSQL] | type[Embedded]:
    return PostgreSQL if connection.vendor == "postgresql" else Embedded
