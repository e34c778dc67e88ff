"""Accepting and running commands.

Accepting validates the shape synchronously (422 at once, nothing stored) and stores a queued
Command, waking a worker after commit. Running claims a batch of an issue's next commands with a
lease, only once every earlier command for that issue has finished (acceptance order per issue,
whatever the number of workers), then runs them in order in one transaction, each handler's
service in a savepoint of it: a command's change, its events (with `command_id`) and `succeeded`
commit together, or the savepoint's rollback leaves only `failed` and a `command.failed` event.
One commit per batch, not per command, is most of the worker's throughput (docs/operations.md).
A worker that dies mid-batch leaves a lease that runs out; the sweep queues the commands again,
and since nothing of the dead run committed, re-running them is safe: exactly once in effect.
"""

import functools
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from itertools import takewhile
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import serializers

from commands.models import Command, CommandStatus, IdempotencyRecord
from commands.types import command_class, command_types
from fulfillment.models import Integrator
from getitdone import db_errors, metrics, rows, tracing, wakeups
from getitdone.errors import DomainError, InvalidInput, NotAllowed, VersionConflict
from getitdone.formats import iso_timestamp as ts
from getitdone.limits import check_key
from webhooks import catalogue
from webhooks.models import Event
from webhooks.services import publish

logger = logging.getLogger(__name__)


class IdempotencyInProgress(VersionConflict):
    default_code = "idempotency_in_progress"


@dataclass(frozen=True)
class Accepted:
    command: Command
    replayed: dict[str, Any] | None = None  # the stored first response, for a repeated key


def command_validate(body: Any) -> tuple[str, dict[str, Any]]:
    """Check a command's shape: (type, validated fields), or a DRF ValidationError (422)."""
    if not isinstance(body, dict):
        raise serializers.ValidationError({"non_field_errors": ["A command is a JSON object."]})
    type_name = body.get("type")
    cls = command_class(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise serializers.ValidationError(
            {
                "type": [
                    serializers.ErrorDetail(
                        f"Unknown command type; one of {', '.join(command_types())}.", "invalid_choice"
                    )
                ]
            }
        )
    serializer = cls.serializer_class(data={k: v for k, v in body.items() if k not in ("type", "command_id")})
    serializer.is_valid(raise_exception=True)
    return type_name, json.loads(json.dumps(serializer.validated_data, default=str))


def _request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _reserve_key(integrator: Integrator, key: str, request_hash: str) -> IdempotencyRecord | dict[str, Any]:
    """Reserve an idempotency key (committed at once, so a concurrent twin sees it), or return
    the response stored for it."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(integrator=integrator, key=key, request_hash=request_hash)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(integrator=integrator, key=key)
    if record.request_hash != request_hash:
        raise InvalidInput(
            "This idempotency key was used with another request body.", code="idempotency_key_reused",
            field="Idempotency-Key",
        )  # fmt: skip
    if record.status_code is None:
        stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT)
        if record.created_at > stale:
            raise IdempotencyInProgress("A request with this idempotency key is still being accepted.")
        record.delete()  # abandoned by a crashed request: take it over
        return _reserve_key(integrator, key, request_hash)
    return {"status_code": record.status_code, "body": record.response}


def command_accept(*, integrator: Integrator, body: dict[str, Any], idempotency_key: str | None = None) -> Accepted:
    """Validate, store and queue one command. Raises ValidationError (422) for a bad shape,
    InvalidInput (422) for a reused key, IdempotencyInProgress (409)."""
    type_name, data = command_validate(body)
    client_command_id = body.get("command_id")
    if "command_id" in body:  # null too: the schema allows a string only
        check_key(client_command_id, field="command_id")
    if idempotency_key is not None:
        check_key(idempotency_key, field="Idempotency-Key")
    key = idempotency_key or client_command_id
    record = None
    if key:
        reserved = _reserve_key(integrator, key, _request_hash(body))
        if isinstance(reserved, dict):
            command = Command.objects.get(pk=reserved["body"]["id"])
            return Accepted(command=command, replayed=reserved)
        record = reserved
    try:
        with transaction.atomic():
            command = Command.objects.create(
                integrator=integrator,
                type=type_name,
                command_id=client_command_id or "",
                payload=data,
                issue_key=command_class(type_name).issue_key(data),
                traceparent=tracing.current_traceparent(),  # its events join the request's trace
            )
            if not client_command_id:
                command.command_id = f"cmd_{command.pk}"
                command.save(update_fields=["command_id"])
            if record is not None:
                record.status_code = 202
                record.response = command_representation(command)
                record.save(update_fields=["status_code", "response"])
            transaction.on_commit(lambda: wake_for(command))
    except BaseException:
        if record is not None:
            record.delete()
        raise
    logger.info("command %s %s accepted for integrator %s", command.pk, type_name, integrator.pk,
                extra={"command_id": command.command_id})  # fmt: skip
    return Accepted(command=command)


def command_representation(command: Command) -> dict[str, Any]:
    return {
        "id": command.pk,
        "command_id": command.command_id,
        "type": command.type,
        "status": command.status,
        "client_issue_id": command.issue_key or None,
        "error": command.error,
        "event_ids": command.event_ids,
        "created_at": ts(command.created_at),
        "started_at": ts(command.started_at),
        "finished_at": ts(command.finished_at),
    }


def wake_for(command: Command, *, force: bool = False) -> None:
    """Tell a worker that this command's issue has work. Coalesced per issue: while a wake-up
    is pending, more commands for that issue need none (the runner clears the flag before it
    looks for the next command). Best effort: with the broker down the sweep wakes it later."""
    if not command.issue_key:
        wakeups.wake("commands.run", [command.pk])
        return
    flag = _wake_flag(command.integrator_id, command.issue_key)
    wanted = force or wakeups.flag(flag, settings.COMMANDS_WAKE_COALESCE_SECONDS)
    if wanted and not wakeups.wake("commands.run_issue", [command.integrator_id, command.issue_key]):
        cache.delete(flag)  # nobody was woken: let the next command try again


def _wake_flag(integrator_id: int, issue_key: str) -> str:
    digest = hashlib.sha1(issue_key.encode()).hexdigest()  # keys are free text; cache keys are not
    return f"commands:wake:{integrator_id}:{digest}"


def commands_run_for_issue(integrator_id: int, issue_key: str) -> int:
    """Run an issue's queued commands in acceptance order, until none is left or an earlier one
    is running elsewhere (that runner carries on). Returns how many ran."""
    return _run_chain(integrator_id, issue_key)


def command_run(command_pk: int) -> str:
    """Run a queued command if it may run now (every earlier command for its issue is done),
    then whatever is queued behind it for that issue. Returns what happened to the first."""
    command = Command.objects.filter(pk=command_pk).values("integrator_id", "issue_key").first()
    if command is None:
        return "not_runnable"
    outcomes: list[str] = []
    _run_chain(command["integrator_id"], command["issue_key"], first_pk=command_pk, outcomes=outcomes)
    return outcomes[0] if outcomes else "not_runnable"


def _run_chain(integrator_id: int, issue_key: str, *, first_pk: int | None = None, outcomes: list | None = None) -> int:
    flag = _wake_flag(integrator_id, issue_key)
    ran = 0
    while ran < settings.COMMANDS_CHAIN_LIMIT:
        if issue_key:
            cache.delete(flag)  # before looking, so a command accepted after the look wakes us again
        limit = min(settings.COMMANDS_CLAIM_BATCH, settings.COMMANDS_CHAIN_LIMIT - ran)
        token = uuid.uuid4().hex
        claimed = _claim(integrator_id, issue_key, token, limit=limit, first_pk=first_pk)
        if not claimed:
            return ran
        first_pk = None
        finished = _run_batch(claimed, token)
        if outcomes is not None:
            outcomes.extend([c.status for c in finished] if finished is not None else ["lease_lost"])
        if finished is None:
            # Our lease ran out and another runner owns the issue's queue now: it runs the batch.
            return ran
        ran += len(finished)
        if not issue_key:
            if finished:
                return ran
            first_pk = claimed[0].pk  # refused and queued again: tried again now, as an issue's queue is
    # A long queue for one issue: hand the rest to the next free thread.
    wake_for(Command(integrator_id=integrator_id, issue_key=issue_key), force=True)
    return ran


def _claim(integrator_id: int, issue_key: str, token: str, *, limit: int, first_pk: int | None = None) -> list[Command]:
    """Lease the next `limit` commands of an issue's queue, in order; none while an earlier
    command is running elsewhere (or when the queue does not start at `first_pk`).

    The leased commands show as `running`. Two claimers of one queue serialize on the row locks,
    and the second then sees the first's lease.
    """
    sql, command_columns, integrator_columns = _queue_head_query()
    params: list[Any] = [integrator_id, issue_key, CommandStatus.QUEUED, CommandStatus.RUNNING]
    if not issue_key:
        sql, params = sql.replace("ORDER BY", "AND c.id = %s ORDER BY"), [*params, first_pk]
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF c"  # the commands, never their integrator's row
    locked_until = timezone.now() + timedelta(seconds=settings.COMMANDS_LEASE_SECONDS)
    with transaction.atomic():
        head = []
        for row in rows.fetch(sql, [*params, limit]):
            command = command_columns.load(row)
            command.integrator = integrator_columns.load(row, len(command_columns))
            head.append(command)
        runnable = list(takewhile(lambda command: command.status == CommandStatus.QUEUED, head))
        if not runnable or (first_pk is not None and runnable[0].pk != first_pk):
            return []
        # A command tried before (its worker died, or the database refused it) runs in a batch
        # of its own: if it is what kills workers, only its own attempts count.
        runnable = runnable[:1] if runnable[0].attempts else list(takewhile(lambda c: not c.attempts, runnable))
        lease = {"status": CommandStatus.RUNNING, "lease_token": token, "locked_until": locked_until}
        sets, values = rows.assignments(Command, lease)
        ids = [c.pk for c in runnable]
        rows.execute(
            f"UPDATE {Command._meta.db_table} SET {sets}, attempts = attempts + 1"
            f" WHERE id IN ({rows.placeholders(ids)})",
            [*values, *ids],
        )
    for command in runnable:
        command.status, command.lease_token, command.locked_until = CommandStatus.RUNNING, token, locked_until
        command.attempts += 1
    return runnable


@functools.cache
def _queue_head_query() -> tuple[str, rows.Columns, rows.Columns]:
    # Written out, as the issue family is (getitdone/rows.py): the claim runs for every command.
    # The integrator's webhook secret is encrypted, and no command needs it: not read.
    command, integrator = rows.Columns(Command, "c"), rows.Columns(Integrator, "i", exclude=["webhook_secret"])
    sql = (
        f"SELECT {command.sql}, {integrator.sql} FROM {Command._meta.db_table} c"
        f" JOIN {Integrator._meta.db_table} i ON i.id = c.integrator_id"
        " WHERE c.integrator_id = %s AND c.issue_key = %s AND c.status IN (%s, %s) ORDER BY c.id LIMIT %s"
    )
    return sql, command, integrator


class _LeaseLost(Exception):
    """The command is no longer ours: roll back whatever this run did."""


class _Refused(Exception):
    """The database refused the command's change for a passing reason (its cause)."""


def _run_batch(claimed: list[Command], token: str) -> list[Command] | None:
    """Run claimed commands in order, in one transaction (one commit for the batch, see
    _run_claimed). Returns those that finished; None when the lease was lost, and then nothing
    of the batch committed.

    A command the database refused for a passing reason (a deadlock, a serialization failure, a
    lock timeout) goes back to the queue with the rest of the batch, in order, to be tried again
    at once; after COMMANDS_MAX_ATTEMPTS it fails (`too_many_attempts`)."""
    finished: list[Command] = []
    try:
        with transaction.atomic():
            for n, command in enumerate(claimed):
                try:
                    _run_claimed(command, token)
                except _Refused as refused:
                    reason = _first_line(refused.__cause__)
                    if command.attempts < settings.COMMANDS_MAX_ATTEMPTS:
                        logger.warning(
                            "command %s: %s; queued again (attempt %s)", command.pk, reason, command.attempts
                        )
                        _requeue(claimed[n:], token)
                        break
                    _fail(command, token, _too_many_attempts(command, f"the database refused it ({reason})"))
                finished.append(command)
    except _LeaseLost:
        return None
    except DatabaseError as error:  # the COMMIT itself: a deferred check, a serialization failure
        if connection.needs_rollback or not connection.is_usable():
            raise  # the connection is gone: the lease runs out, and the sweep queues them again
        finished = _after_refused_commit(claimed, token, _first_line(error))
    _count(finished)
    return finished


def _count(finished: list[Command]) -> None:
    """Committed: in the log and the metrics."""
    for command in finished:
        error = f": {command.error['code']}" if command.error else ""
        logger.info("command %s %s %s%s", command.pk, command.type, command.status, error,
                    extra={"command_id": command.command_id})  # fmt: skip
        with metrics.counting():
            metrics.COMMANDS.labels(command.status).inc()


def _first_line(error: BaseException | None) -> str:
    """What the database said, in one line (PostgreSQL adds DETAIL and CONTEXT lines)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _after_refused_commit(claimed: list[Command], token: str, reason: str) -> list[Command]:
    """Nothing of the batch committed. Back to the queue, in order: its first command, tried
    before now, runs alone next time, so a command whose commit is always refused uses up only
    its own attempts, and then fails (`too_many_attempts`). Returns what finished."""
    first = claimed[0]
    try:
        with transaction.atomic():
            if len(claimed) == 1 and first.attempts >= settings.COMMANDS_MAX_ATTEMPTS:
                _fail(first, token, _too_many_attempts(first, f"the database refused its commit ({reason})"))
                logger.warning("command %s %s failed: its commit was refused %s times", first.pk, first.type,
                               first.attempts)  # fmt: skip
                return [first]
            _requeue(claimed, token)
    except _LeaseLost:
        return []  # another runner has it now
    logger.warning("commands %s: the database refused their commit (%s); queued again", [c.pk for c in claimed], reason)
    return []


def _requeue(commands: list[Command], token: str) -> None:
    """Back to the queue, under our lease: the first keeps its attempt, the others did not run
    and get theirs back."""
    ids = [c.pk for c in commands]
    rows.execute(
        f"UPDATE {Command._meta.db_table} SET status = %s, lease_token = '', locked_until = NULL,"
        f" attempts = attempts - CASE WHEN id = %s THEN 0 ELSE 1 END"
        f" WHERE id IN ({rows.placeholders(ids)}) AND status = %s AND lease_token = %s",
        [CommandStatus.QUEUED, ids[0], *ids, CommandStatus.RUNNING, token],
    )


def _too_many_attempts(command: Command, why: str) -> dict[str, Any]:
    return {
        "code": "too_many_attempts",
        "message": f"Not tried again after {command.attempts} attempts: {why}.",
        "field": None,
    }


def _run_claimed(command: Command, token: str) -> None:
    """Run a command leased to us, inside its batch's transaction: its change, its events and
    `succeeded` commit together. The handler's service runs in a savepoint of that transaction,
    so a refusal rolls back only this command's change, and `failed` is written instead, with a
    `command.failed` event. Either way the outcome is written only while the lease is still ours
    (a runner whose lease ran out and was given to another rolls the batch back), so a command
    takes effect once."""
    command.started_at = timezone.now()
    handler = command_class(command.type)()
    try:
        with tracing.continued(command.traceparent, f"command {command.type}"):
            events = handler.handle(command, command.payload)
    except DomainError as exc:
        error = exc.as_dict()
    except Exception as exc:
        # The service's savepoint could not be rolled back (the connection is gone): the batch's
        # transaction is broken, and its commands return to the queue when the lease runs out.
        if connection.needs_rollback:
            raise
        if db_errors.is_transient(exc):
            raise _Refused from exc  # a deadlock, a lock timeout...: its savepoint is rolled back; worth another try
        logger.exception("command %s (%s) raised", command.pk, command.type, extra={"command_id": command.command_id})
        error = {"code": "internal_error", "message": "The command failed unexpectedly.", "field": None}
    else:
        _finish(command, token, CommandStatus.SUCCEEDED, error=None, event_ids=[e.id for e in events])
        return
    _fail(command, token, error)


def _fail(command: Command, token: str, error: dict[str, Any]) -> None:
    event = _failed_event(command, error)
    _finish(command, token, CommandStatus.FAILED, error=error, event_ids=[event.id])


def _finish(command: Command, token: str, status: str, *, error: dict | None, event_ids: list[str]) -> None:
    command.status, command.error, command.event_ids = status, error, event_ids
    command.finished_at, command.locked_until = timezone.now(), None
    outcome = {
        "status": status,
        "error": error,
        "event_ids": event_ids,
        "started_at": command.started_at,
        "finished_at": command.finished_at,
        "locked_until": None,
    }
    sets, values = rows.assignments(Command, outcome)
    updated = rows.execute(
        f"UPDATE {Command._meta.db_table} SET {sets} WHERE id = %s AND status = %s AND lease_token = %s",
        [*values, command.pk, CommandStatus.RUNNING, token],
    )
    if not updated:
        logger.warning("command %s: lease lost while running; rolled back", command.pk)
        raise _LeaseLost


def _failed_event(command: Command, error: dict[str, Any]) -> Event:
    data = {
        "command_id": command.command_id,
        "command_type": command.type,
        "client_issue_id": command.issue_key or None,
        "error": error,
    }
    # In the command's trace, whoever fails it (its runner, or the sweep giving up on it).
    with tracing.continued(command.traceparent, f"command {command.type} failed"):
        return publish(command.integrator, catalogue.COMMAND_FAILED, data)


def commands_sweep() -> int:
    """Queue again what a dead worker held; wake queued commands whose wake-up may be lost."""
    now = timezone.now()
    stuck = Command.objects.filter(status=CommandStatus.RUNNING, locked_until__lt=now)
    for command in stuck.filter(attempts__gte=settings.COMMANDS_MAX_ATTEMPTS).select_related("integrator"):
        _give_up_on(command)
    requeued = stuck.update(status=CommandStatus.QUEUED, lease_token="", locked_until=None)
    if requeued:
        logger.warning("sweep: %s commands of dead workers queued again", requeued)
    waiting = Command.objects.filter(
        status=CommandStatus.QUEUED, created_at__lt=now - timedelta(seconds=settings.COMMANDS_REQUEUE_AFTER)
    )
    # One wake-up per issue: its runner takes the queue in order.
    firsts: dict[tuple[int, str], Command] = {}
    for command in waiting.order_by("pk").only("pk", "integrator_id", "issue_key")[:1000]:
        firsts.setdefault((command.integrator_id, command.issue_key or f"#{command.pk}"), command)
    for command in firsts.values():
        wake_for(command, force=True)
    return requeued + len(firsts)


def _give_up_on(command: Command) -> None:
    """A command whose worker died on each of its attempts fails, with `command.failed`."""
    command.started_at = command.locked_until - timedelta(seconds=settings.COMMANDS_LEASE_SECONDS)
    try:
        with transaction.atomic():
            _fail(command, command.lease_token, _too_many_attempts(command, "the worker running it stopped each time"))
    except _LeaseLost:
        return  # claimed again meanwhile: it rolls back
    with metrics.counting():
        metrics.COMMANDS.labels(command.status).inc()
    logger.warning("command %s %s failed: its worker stopped on each of %s attempts", command.pk, command.type,
                   command.attempts)  # fmt: skip


@transaction.atomic
def command_retry(*, command: Command) -> Command:
    """Staff: run a failed command again (a new attempt, in order after what is queued).

    Only while it is still failed, checked in the UPDATE itself: a second click, or a worker
    that took it meanwhile, finds it no longer failed and it is not queued twice."""
    queued = Command.objects.filter(pk=command.pk, status=CommandStatus.FAILED).update(
        status=CommandStatus.QUEUED,
        error=None,
        finished_at=None,
        attempts=0,  # staff give it a new set of attempts
    )
    command.refresh_from_db()
    if not queued:
        raise NotAllowed(f"Only a failed command can be retried; this one is {command.status}.", code="not_failed")
    transaction.on_commit(lambda: wake_for(command, force=True))
    return command


def idempotency_prune() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
