"""Accepting and running commands.

Accepting validates the shape synchronously (422 at once, nothing stored) and stores a queued
Command, waking a worker after commit. Running claims the command with a lease, only once every
earlier command for the same issue has finished (acceptance order per issue, whatever the number
of workers), then runs its handler and records the outcome in one transaction: the change, its
events (with `command_id`) and `succeeded` commit together, or the rollback leaves only `failed`
and a `command.failed` event. A worker that dies mid-command leaves a lease that runs out; the
sweep queues the command again, and since nothing of the dead run committed, re-running it is
safe: exactly once in effect.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from commands.models import Command, CommandStatus, IdempotencyRecord
from commands.registry import command_class, command_types
from fulfillment.models import Integrator
from getitdone.errors import DomainError, InvalidInput, VersionConflict
from getitdone.formats import iso_timestamp as ts
from webhooks import catalogue
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
    if client_command_id is not None and (not isinstance(client_command_id, str) or not client_command_id.strip()):
        raise serializers.ValidationError({"command_id": ["Must be a non-empty string."]})
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
    logger.info("command %s %s accepted for integrator %s", command.pk, type_name, integrator.pk)
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
    from commands.tasks import run_command, run_issue

    if not command.issue_key:
        _send(run_command, [command.pk])
        return
    flag = _wake_flag(command.integrator_id, command.issue_key)
    wanted = force or cache.add(flag, 1, timeout=settings.COMMANDS_WAKE_COALESCE_SECONDS)
    if wanted and not _send(run_issue, [command.integrator_id, command.issue_key]):
        cache.delete(flag)  # nobody was woken: let the next command try again


def _wake_flag(integrator_id: int, issue_key: str) -> str:
    digest = hashlib.sha1(issue_key.encode()).hexdigest()  # keys are free text; cache keys are not
    return f"commands:wake:{integrator_id}:{digest}"


def _send(task: Any, args: list) -> bool:
    try:
        task.apply_async(args=args, retry=False)
        return True
    except Exception as exc:  # the broker is down; the sweep wakes queued commands later
        logger.warning("could not enqueue %s%s (%s); the sweep will", task.name, args, exc)
        return False


def commands_run_for_issue(integrator_id: int, issue_key: str) -> int:
    """Run an issue's queued commands in acceptance order, until none is left or an earlier one
    is running elsewhere (that runner carries on). Returns how many ran."""
    flag = _wake_flag(integrator_id, issue_key)
    ran = 0
    for _ in range(settings.COMMANDS_CHAIN_LIMIT):
        cache.delete(flag)  # before looking, so a command accepted after the look wakes us again
        head = (
            Command.objects.filter(
                integrator_id=integrator_id,
                issue_key=issue_key,
                status__in=[CommandStatus.QUEUED, CommandStatus.RUNNING],
            )
            .order_by("pk")
            .values_list("pk", "status")
            .first()
        )
        if head is None or head[1] == CommandStatus.RUNNING:
            return ran
        if _run_one(head[0]) in ("not_runnable", "lease_lost"):
            return ran
        ran += 1
    # A long queue for one issue: hand the rest to the next free thread.
    command = Command(integrator_id=integrator_id, issue_key=issue_key)
    wake_for(command, force=True)
    return ran


def _claim(command_pk: int, token: str) -> Command | None:
    now = timezone.now()
    with transaction.atomic():
        command = (
            Command.objects.select_for_update(skip_locked=True)
            .filter(pk=command_pk, status=CommandStatus.QUEUED)
            .first()
        )
        if command is None:
            return None
        if (
            command.issue_key
            and Command.objects.filter(
                integrator_id=command.integrator_id,
                issue_key=command.issue_key,
                pk__lt=command.pk,
                status__in=[CommandStatus.QUEUED, CommandStatus.RUNNING],
            ).exists()
        ):
            return None  # an earlier command for this issue is not done; it wakes this one after
        command.status = CommandStatus.RUNNING
        command.lease_token = token
        command.locked_until = now + timedelta(seconds=settings.COMMANDS_LEASE_SECONDS)
        command.started_at = now
        command.attempts += 1
        command.save(update_fields=["status", "lease_token", "locked_until", "started_at", "attempts"])
    return command


def command_run(command_pk: int) -> str:
    """Run a queued command if it may run now (every earlier command for its issue is done),
    then whatever is queued behind it for that issue. Returns what happened to the first."""
    outcome = _run_one(command_pk)
    if outcome not in ("not_runnable", "lease_lost"):
        command = Command.objects.only("integrator_id", "issue_key").get(pk=command_pk)
        if command.issue_key:
            commands_run_for_issue(command.integrator_id, command.issue_key)
    return outcome


def _run_one(command_pk: int) -> str:
    token = uuid.uuid4().hex
    if _claim(command_pk, token) is None:
        return "not_runnable"
    with transaction.atomic():
        # The row lock makes a second runner (after a lease ran out) wait here, then see that
        # the command is no longer its own.
        command = Command.objects.select_for_update(of=("self",)).select_related("integrator").get(pk=command_pk)
        if command.status != CommandStatus.RUNNING or command.lease_token != token:
            return "lease_lost"
        handler = command_class(command.type)()
        try:
            with transaction.atomic():
                events = handler.handle(command, command.payload)
            command.status = CommandStatus.SUCCEEDED
            command.error = None
            command.event_ids = [e.id for e in events]
        except DomainError as exc:
            _fail(command, exc.as_dict())
        except Exception:
            logger.exception("command %s (%s) raised", command.pk, command.type)
            _fail(command, {"code": "internal_error", "message": "The command failed unexpectedly.", "field": None})
        command.finished_at = timezone.now()
        command.locked_until = None
        command.save(update_fields=["status", "error", "event_ids", "finished_at", "locked_until"])
    logger.info("command %s %s %s", command.pk, command.type, command.status)
    return command.status


def _fail(command: Command, error: dict[str, Any]) -> None:
    command.status = CommandStatus.FAILED
    command.error = error
    event = publish(
        command.integrator,
        catalogue.COMMAND_FAILED,
        {
            "command_id": command.command_id,
            "command_type": command.type,
            "client_issue_id": command.issue_key or None,
            "error": error,
        },
    )
    command.event_ids = [event.id]


def commands_sweep() -> int:
    """Queue again what a dead worker held; wake queued commands whose wake-up may be lost."""
    now = timezone.now()
    stuck = Command.objects.filter(status=CommandStatus.RUNNING, locked_until__lt=now)
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


@transaction.atomic
def command_retry(*, command: Command) -> Command:
    """Staff: run a failed command again (a new attempt, in order after what is queued)."""
    command.status = CommandStatus.QUEUED
    command.error = None
    command.finished_at = None
    command.save(update_fields=["status", "error", "finished_at"])
    transaction.on_commit(lambda: wake_for(command, force=True))
    return command


def idempotency_prune() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
