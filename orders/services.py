"""Everything that changes an issue. The REST views, admin actions and commands all call these;
none of them re-implements a rule."""

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from fulfillment.graph import WorkflowGraph, workflow_graph
from fulfillment.models import Integrator
from fulfillment.selectors import workflow_for
from getitdone import limits, rows
from getitdone.errors import DomainError, InvalidInput, NotAllowed, NotFound, PayloadTooLarge, VersionConflict
from orders import events, selectors
from orders.models import ActorType, FileKind, Issue, IssueFile, IssueNote, StatusChange
from orders.representations import issue_representation
from webhooks.models import Event
from webhooks.services import publish_many, validate_webhook_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who made a change, as history shows it: `{"type": "integrator", "id": "12"}`."""

    type: str
    id: str = ""

    @classmethod
    def integrator(cls, integrator: Integrator) -> "Actor":
        return cls(ActorType.INTEGRATOR, str(integrator.pk))

    @classmethod
    def staff(cls, user: Any) -> "Actor":
        return cls(ActorType.STAFF, str(user.pk))

    @classmethod
    def command(cls, command_id: str) -> "Actor":
        return cls(ActorType.COMMAND, command_id)

    @classmethod
    def system(cls, reason: str = "") -> "Actor":
        return cls(ActorType.SYSTEM, reason)


@dataclass(frozen=True)
class IssueRef:
    """An issue named by its integrator's id. Writers lock the issue before anything else, and
    the lock reads it: given a ref, they load it once instead of twice."""

    integrator: Integrator
    client_issue_id: str


@dataclass
class ChildSpec:
    details: dict[str, Any] = field(default_factory=dict)
    status: str | None = None


@dataclass
class IssueCreated:
    issue: Issue
    children: list[Issue]
    events: list[Event]


@dataclass
class IssueUpdated:
    issue: Issue
    children: list[Issue]
    changed: list[str]
    events: list[Event]


@dataclass
class NoteAdded:
    issue: Issue
    note: IssueNote
    events: list[Event]


@dataclass
class StatusChanged:
    issue: Issue
    children: list[Issue]
    changed: bool
    warnings: list[dict[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    issue_data: dict[str, Any] | None = None  # the representation the event carries, when one was published

    def representation(self) -> dict[str, Any]:
        """The issue as integrators see it: the event's copy when there is one, so a change is
        rendered once."""
        return self.issue_data if self.issue_data is not None else issue_representation(self.issue, self.children)


def _resolve_step(graph: WorkflowGraph, status: str | None, *, field_name: str) -> int:
    if status is None or status == "":
        if graph.initial_step_id is None:
            raise InvalidInput("The workflow has no initial step; give `status`.", field=field_name)
        return graph.initial_step_id
    step_id = graph.resolve(status)
    if step_id is None:
        raise InvalidInput(f"No step {status!r} in workflow {graph.code!r}.", code="unknown_status", field=field_name)
    return step_id


def _record(
    issue: Issue, *, from_step_id: int | None, transition_id: int | None, actor: Actor, note: str, forced: bool = False
) -> None:
    change = StatusChange(
        issue=issue,
        from_step_id=from_step_id,
        to_step_id=issue.step_id,
        transition_id=transition_id,
        actor_type=actor.type,
        actor_id=actor.id,
        note=note,
        forced=forced,
    )
    rows.insert([change])


@transaction.atomic
def issue_create(
    *,
    integrator: Integrator,
    client_issue_id: str,
    actor: Actor,
    workflow: str | int | None = None,
    status: str | None = None,
    webhook_url: str = "",
    details: dict[str, Any] | None = None,
    children: list[ChildSpec] | None = None,
    command_id: str | None = None,
) -> IssueCreated:
    limits.check_client_issue_id(client_issue_id)
    limits.check_details(details or {})
    if len(children or []) > limits.CHILDREN_MAX:
        raise InvalidInput(f"At most {limits.CHILDREN_MAX} children.", code="max_length", field="children")
    for n, spec in enumerate(children or []):
        limits.check_details(spec.details or {}, field=f"children.{n}.details")
    if webhook_url:
        validate_webhook_url(webhook_url, field="webhook_url")
    wf = workflow_for(integrator, workflow)
    if wf is None:
        raise InvalidInput(f"No workflow {workflow!r} is available to you.", code="unknown_workflow", field="workflow")
    graph = workflow_graph(wf)
    step_id = _resolve_step(graph, status, field_name="status")
    child_steps = [
        _resolve_step(graph, spec.status, field_name=f"children.{n}.status") for n, spec in enumerate(children or [])
    ]
    if Issue.objects.filter(integrator=integrator, client_issue_id=client_issue_id, parent__isnull=True).exists():
        raise InvalidInput("An issue with this client_issue_id exists.", code="unique", field="client_issue_id")
    try:
        with transaction.atomic():  # a concurrent duplicate trips the unique constraint
            issue = Issue.objects.create(
                integrator=integrator,
                client_issue_id=client_issue_id,
                workflow=wf,
                step_id=step_id,
                webhook_url=webhook_url or "",
                details=details or {},
            )
    except IntegrityError as exc:
        raise InvalidInput(
            "An issue with this client_issue_id exists.", code="unique", field="client_issue_id"
        ) from exc
    _record(issue, from_step_id=None, transition_id=None, actor=actor, note="created")
    created_children = []
    for spec, child_step in zip(children or [], child_steps, strict=True):
        child = Issue.objects.create(
            integrator=integrator,
            client_issue_id=client_issue_id,
            workflow=wf,
            step_id=child_step,
            parent=issue,
            webhook_url=issue.webhook_url,
            details=spec.details or {},
        )
        _record(child, from_step_id=None, transition_id=None, actor=actor, note="created")
        created_children.append(child)
    published = [events.issue_created(issue, created_children, command_id=command_id)]
    published += [events.issue_created(child, [], command_id=command_id) for child in created_children]
    logger.info("issue %s created for integrator %s with %s children", issue.pk, integrator.pk, len(created_children))
    return IssueCreated(issue=issue, children=created_children, events=published)


def _lock_family(issue: Issue | IssueRef) -> tuple[Issue, list[Issue]]:
    """Lock the issue and its children in one statement, in id order, and re-read them.

    Every writer locks an issue family this way before it touches the event counter, so two
    changes to one family serialize here (the second sees the first's result) and never
    deadlock later. Children share their root's client_issue_id, so a ref finds the family too.
    """
    if isinstance(issue, IssueRef):
        family = selectors.issue_family(integrator=issue.integrator, client_issue_id=issue.client_issue_id, lock=True)
    else:
        locked = Issue.objects.select_for_update(of=("self",)).select_related("workflow", "integrator")
        family = list(locked.filter(Q(pk=issue.pk) | Q(parent_id=issue.pk)).order_by("id"))
    root = next((r for r in family if r.parent_id is None), None)
    if root is None:
        raise NotFound(f"No issue {issue.client_issue_id!r}.", field="client_issue_id")
    return root, [r for r in family if r.parent_id == root.pk]


@dataclass(frozen=True)
class _Move:
    issue: Issue  # already at its new step
    previous_step_id: int
    transition: dict[str, Any] | None  # None: forced past the workflow's transitions


def _move(issue: Issue, *, to_step_id: int, transition: dict[str, Any] | None) -> _Move:
    previous = issue.step_id
    issue.step_id = to_step_id
    return _Move(issue, previous, transition)


def _write_moves(moves: list[_Move], *, actor: Actor, note: str) -> None:
    """Save a family's moves (the caller holds their row locks): one UPDATE per target step and
    one INSERT for their history, however many children moved."""
    now = timezone.now()
    targets: dict[int, list[int]] = {}
    for move in moves:
        move.issue.version += 1
        move.issue.step_entered_at = move.issue.updated_at = now
        targets.setdefault(move.issue.step_id, []).append(move.issue.pk)
    stored_now = connection.ops.adapt_datetimefield_value(now)  # as the ORM writes it (SQLite: text)
    for step_id, ids in targets.items():
        # Written out: the queryset's compiling cost more than the UPDATE (getitdone/rows.py).
        rows.execute(
            f"UPDATE {Issue._meta.db_table} SET step_id = %s, version = version + 1, step_entered_at = %s,"
            f" updated_at = %s WHERE id IN ({rows.placeholders(ids)})",
            [step_id, stored_now, stored_now, *ids],
        )
    rows.insert([
        StatusChange(
            issue=move.issue, from_step_id=move.previous_step_id, to_step_id=move.issue.step_id,
            transition_id=move.transition["id"] if move.transition else None, actor_type=actor.type,
            actor_id=actor.id, note=note, forced=not move.transition,
        )
        for move in moves
    ])  # fmt: skip


@transaction.atomic
def issue_change_status(
    *,
    issue: Issue | IssueRef,
    status: str,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
    command_id: str | None = None,
    force: bool = False,
) -> StatusChanged:
    """Move an issue to the step `status` names, if a transition allows it; children follow.

    422 (InvalidInput) when no step has that name; 400 (NotAllowed) when no transition leads
    there; 409 (VersionConflict) when `expected_version` is stale. Asking for the current step
    changes nothing and publishes nothing.

    `force` (staff only, who must say why in `note`): where no transition leads there, move
    anyway, recorded as forced (the event's `transition` is null); children with that step are
    moved with it, forced too where their own transitions do not lead there.
    """
    limits.check_text(note, field="note")
    if force:
        if actor.type != ActorType.STAFF:
            raise NotAllowed("Only staff can force a move.", code="force_not_allowed", field="force")
        if not note.strip():
            raise InvalidInput("A forced move needs a reason.", code="blank", field="note")
    issue, children = _lock_family(issue)
    return _change_status(
        issue, children, status=status, actor=actor, note=note, expected_version=expected_version,
        command_id=command_id, force=force,
    )  # fmt: skip


def _change_status(
    issue: Issue,
    children: list[Issue],
    *,
    status: str,
    actor: Actor,
    note: str,
    expected_version: int | None = None,
    command_id: str | None,
    force: bool = False,
) -> StatusChanged:
    """issue_change_status on a locked family."""
    graph = workflow_graph(issue.workflow)
    target = graph.resolve(status)
    if target is None:
        raise InvalidInput(f"No step {status!r} in workflow {graph.code!r}.", code="unknown_status", field="status")
    if expected_version is not None and expected_version != issue.version:
        raise VersionConflict(
            f"The issue is at version {issue.version}, not {expected_version}; fetch it and retry.",
            field="expected_version",
        )
    if target == issue.step_id:
        return StatusChanged(issue=issue, children=children, changed=False)
    transition = graph.transition(issue.step_id, target)
    if transition is None and not force:
        current, wanted = graph.values[issue.step_id], graph.values[target]
        raise NotAllowed(f"No transition from {current} to {wanted}.", code="transition_not_allowed", field="status")

    moves = [_move(issue, to_step_id=target, transition=transition)]
    warnings = []
    target_value = graph.values[target]
    for child in children:
        child_graph = workflow_graph(child.workflow)
        child_target = child_graph.step_with_value(target_value)
        if child_target is None:
            reason = f"its workflow has no step {target_value}"
        elif child_target == child.step_id:
            continue
        elif (child_transition := child_graph.transition(child.step_id, child_target)) is None and not force:
            reason = f"no transition from {child_graph.values[child.step_id]} to {target_value}"
        else:
            moves.append(_move(child, to_step_id=child_target, transition=child_transition))
            continue
        warnings.append({"code": "child_not_moved", "field": "children", "value": f"{child.pk}: {reason}"})

    _write_moves(moves, actor=actor, note=note)
    issue_data = issue_representation(issue, children)
    published = publish_many(
        issue.integrator,
        [
            events.status_changed(
                move.issue, issue_data if move.issue is issue else issue_representation(move.issue, []),
                previous_step_id=move.previous_step_id, transition=move.transition, command_id=command_id,
            )
            for move in moves
        ],
    )  # fmt: skip
    previous = moves[0].previous_step_id
    logger.info(
        "issue %s moved %s -> %s%s by %s:%s (%s children moved, %s not)",
        issue.pk,
        graph.values[previous],
        target_value,
        "" if transition else " (forced)",
        actor.type,
        actor.id,
        len(moves) - 1,
        len(warnings),
    )
    return StatusChanged(
        issue=issue, children=children, changed=True, warnings=warnings, events=published, issue_data=issue_data
    )


def _sniff(head: bytes, name: str) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"[") and name.lower().endswith(".json"):
        return "application/json"
    if name.lower().endswith(".csv"):
        return "text/csv"
    return "text/plain"


# In UTF-8 bytes: the name is part of the stored file's name, which the filesystem limits to
# 255 bytes (a hundred CJK letters are 300).
FILE_NAME_MAX_BYTES = 100


def _stored_name(name: str | None) -> str:
    """The client's file name, safe to store and serve: Django's cleaning (no path, no odd
    characters), then at most 100 bytes of UTF-8 with the extension kept."""
    try:
        name = get_valid_filename(name or "")
    except SuspiciousFileOperation:  # nothing usable was left of it
        return "upload"
    if len(name.encode()) <= FILE_NAME_MAX_BYTES:
        return name
    stem, extension = os.path.splitext(name)
    extension = extension if len(extension.encode()) <= 16 else ""
    room = FILE_NAME_MAX_BYTES - len(extension.encode())
    return stem.encode()[:room].decode(errors="ignore") + extension


@transaction.atomic
def issue_attach_file(*, issue: Issue, upload: UploadedFile, kind: str, actor: Actor) -> IssueFile:
    """Store an upload against an issue. The content type is sniffed from the bytes, never
    taken from the client."""
    if kind not in FileKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(FileKind.values)}.", code="invalid_choice", field="kind")
    if not upload.size:
        raise InvalidInput("The file is empty.", code="empty", field="file")
    if upload.size > settings.FILES_MAX_UPLOAD_SIZE:
        raise PayloadTooLarge(f"The file is {upload.size} bytes; the limit is {settings.FILES_MAX_UPLOAD_SIZE}.")
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
    upload.seek(0)
    name = _stored_name(upload.name)
    issue, children = _lock_family(issue)
    record = IssueFile(
        integrator=issue.integrator,
        issue=issue,
        name=name,
        content_type=_sniff(head, name),
        size=upload.size,
        sha256=digest.hexdigest(),
        kind=kind,
    )
    record.file.save(name, upload, save=False)
    record.save()
    events.issue_file_attached(issue, children, record)
    logger.info(
        "file %s (%s bytes) attached to issue %s by %s:%s", record.pk, record.size, issue.pk, actor.type, actor.id
    )
    return record


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@transaction.atomic
def issue_update_details(
    *,
    issue: Issue | IssueRef,
    actor: Actor,
    details_patch: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    webhook_url: str | None = None,
    command_id: str | None = None,
) -> IssueUpdated:
    """Apply a merge patch to `details` (the API, commands) or replace them wholesale (admin,
    which edits the whole object), and/or set `webhook_url`; publishes `issue.updated` when
    anything changed. 422 (InvalidInput) when the details are no JSON object, break the limits
    of API.md §11 (once merged, too), or the URL is unsafe."""
    if details is not None and details_patch is not None:
        raise ValueError("give details or details_patch, not both")
    issue, children = _lock_family(issue)
    changed = []
    if details_patch is not None:
        limits.check_details(details_patch)  # its nulls remove keys; the rest must be storable
        details = merge_patch(issue.details, details_patch)
        if not isinstance(details, dict):
            raise InvalidInput("The merged details must be a JSON object.", code="invalid_merge", field="details")
    if details is not None:
        limits.check_details(details)  # what is stored: within the limits however it was reached
    if details is not None and details != issue.details:
        issue.details = details
        changed.append("details")
    if webhook_url is not None and webhook_url != issue.webhook_url:
        if webhook_url:
            validate_webhook_url(webhook_url, field="webhook_url")
        issue.webhook_url = webhook_url
        changed.append("webhook_url")
    if not changed:
        return IssueUpdated(issue=issue, children=children, changed=[], events=[])
    issue.version += 1
    issue.save(update_fields=[*changed, "version", "updated_at"])
    event = events.issue_updated(issue, children, changed=changed, command_id=command_id)
    logger.info("issue %s updated (%s) by %s:%s", issue.pk, ", ".join(changed), actor.type, actor.id)
    return IssueUpdated(issue=issue, children=children, changed=changed, events=[event])


@transaction.atomic
def issue_add_note(*, issue: Issue | IssueRef, text: str, actor: Actor, command_id: str | None = None) -> NoteAdded:
    if not text.strip():
        raise InvalidInput("The note is empty.", code="blank", field="text")
    limits.check_text(text, field="text")
    issue, children = _lock_family(issue)
    note = IssueNote(issue=issue, text=text, actor_type=actor.type, actor_id=actor.id)
    rows.insert([note])
    event = events.issue_note_added(issue, children, note, command_id=command_id)
    return NoteAdded(issue=issue, note=note, events=[event])


CANCEL_STEP_VALUE = "CANCELLED"


@transaction.atomic
def issue_cancel(*, issue: Issue | IssueRef, reason: str, actor: Actor, command_id: str | None = None) -> StatusChanged:
    """Move to the workflow's cancel step (value CANCELLED), if a transition allows it."""
    limits.check_text(reason, field="reason")
    issue, children = _lock_family(issue)
    graph = workflow_graph(issue.workflow)
    if graph.step_with_value(CANCEL_STEP_VALUE) is None:
        raise NotAllowed(f"Workflow {graph.code!r} has no {CANCEL_STEP_VALUE} step.", code="not_cancellable")
    return _change_status(issue, children, status=CANCEL_STEP_VALUE, actor=actor, note=reason, command_id=command_id)


def issues_apply_step_timeouts(*, limit: int = 500) -> int:
    """Step SLAs: move every root issue that stayed in a step past its timeout along the step's
    timeout transition, as the system (its children follow as with any move). Returns how many
    moved. Run by beat.

    An issue changed between this look and its lock (moved, or its clock restarted) is left
    alone: the move expects the version that was late, and the next run looks again."""
    from fulfillment.models import Step

    moved = 0
    now = timezone.now()
    for step in Step.objects.filter(timeout_seconds__isnull=False, timeout_transition__isnull=False).select_related(
        "timeout_transition__to_step"
    ):
        cutoff = now - timedelta(seconds=step.timeout_seconds)
        late = Issue.objects.filter(step=step, step_entered_at__lte=cutoff, parent__isnull=True).order_by(
            "step_entered_at"
        )[:limit]
        target = step.timeout_transition.to_step
        for issue in late:
            try:
                result = issue_change_status(
                    issue=issue,
                    status=target.value,
                    actor=Actor.system("step timeout"),
                    note=f"{step.name}: no change within {step.timeout_seconds} s",
                    expected_version=issue.version,
                )
            except DomainError as exc:  # e.g. moved meanwhile; the next run looks again
                logger.info("step timeout of issue %s not applied: %s", issue.pk, exc.message)
                continue
            moved += int(result.changed)
    return moved
