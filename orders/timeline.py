"""An order's story for support staff: every status change, note, file, event (with its
deliveries and their attempts) and command, in the order they happened, each with who did it
named as a person reads it. Read-only; the admin's order page renders it.

A fixed number of queries, whatever the order's size: one per kind of record, and one each for
the names of the integrators and staff users who acted.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from commands.models import Command
from fulfillment.models import Integrator
from orders.models import ActorType, Issue, IssueFile, IssueNote, StatusChange
from webhooks.models import Delivery, DeliveryAttempt, Event


@dataclass
class Entry:
    """One line of the timeline. `kind`: status, note, file, event or command; `record` is the
    model instance; `actor` the name of who acted, when the record says."""

    at: datetime
    kind: str
    record: Any
    actor: str = ""
    actor_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    entries: list[Entry]
    children: list[Issue]
    failed_deliveries: int
    failed_commands: int


def actor_names(rows: list[Any]) -> dict[tuple[str, str], str]:
    """(actor_type, actor_id) → a name: the integrator's name, the staff user's username."""
    wanted: dict[str, set[str]] = {ActorType.INTEGRATOR: set(), ActorType.STAFF: set()}
    for row in rows:
        if row.actor_type in wanted and row.actor_id.isdigit():
            wanted[row.actor_type].add(row.actor_id)
    names: dict[tuple[str, str], str] = {}
    for pk, name in Integrator.objects.filter(pk__in=wanted[ActorType.INTEGRATOR]).values_list("pk", "name"):
        names[(ActorType.INTEGRATOR, str(pk))] = name
    user_model = get_user_model()
    users = user_model.objects.filter(pk__in=wanted[ActorType.STAFF]).values_list("pk", user_model.USERNAME_FIELD)
    for pk, username in users:
        names[(ActorType.STAFF, str(pk))] = username
    return names


def describe_actor(actor_type: str, actor_id: str, names: dict[tuple[str, str], str]) -> str:
    """How history names who acted: "integrator Acme", "staff ana", "command cmd-7",
    "system: step timeout"."""
    if actor_type == ActorType.INTEGRATOR:
        return _("integrator %(name)s") % {"name": names.get((actor_type, actor_id), f"#{actor_id}")}
    if actor_type == ActorType.STAFF:
        return _("staff %(name)s") % {"name": names.get((actor_type, actor_id), f"#{actor_id}")}
    if actor_type == ActorType.COMMAND:
        return _("command %(id)s") % {"id": actor_id}
    return _("system: %(reason)s") % {"reason": actor_id} if actor_id else _("system")


def issue_timeline(issue: Issue) -> Timeline:
    history = list(StatusChange.objects.filter(issue=issue).select_related("from_step", "to_step", "transition"))
    notes = list(IssueNote.objects.filter(issue=issue))
    files = list(IssueFile.objects.filter(issue=issue).order_by("id"))
    attempts = DeliveryAttempt.objects.order_by("number")
    deliveries = Delivery.objects.select_related("endpoint").prefetch_related(Prefetch("attempts", queryset=attempts))
    events = list(
        Event.objects.filter(issue=issue)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries.order_by("id")))
    )
    # Commands name the root by its client_issue_id (its children share it): the root's page lists them.
    commands = (
        list(Command.objects.filter(integrator_id=issue.integrator_id, issue_key=issue.client_issue_id).order_by("id"))
        if issue.parent_id is None
        else []
    )
    children = list(issue.children.select_related("step").order_by("id")) if issue.parent_id is None else []
    names = actor_names([*history, *notes])

    entries = [
        Entry(change.at, "status", change, describe_actor(change.actor_type, change.actor_id, names))
        for change in history
    ]
    entries += [
        Entry(note.created_at, "note", note, describe_actor(note.actor_type, note.actor_id, names)) for note in notes
    ]
    entries += [Entry(file.created_at, "file", file) for file in files]
    entries += [Entry(event.created_at, "event", event) for event in events]
    entries += [Entry(command.created_at, "command", command) for command in commands]
    # Stable: a status change, its event and the command behind it share a moment; kinds keep
    # the order in which they are written (command, change, event).
    rank = {"command": 0, "status": 1, "note": 1, "file": 1, "event": 2}
    entries.sort(key=lambda entry: (entry.at, rank[entry.kind]))
    return Timeline(
        entries=entries,
        children=children,
        failed_deliveries=sum(d.status == "failed" for e in events for d in e.deliveries.all()),
        failed_commands=sum(c.status == "failed" for c in commands),
    )
