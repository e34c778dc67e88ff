"""Event payloads for issues: the domain decides what `data` holds; webhooks only carry it."""

from typing import Any

from fulfillment.graph import workflow_graph
from orders.models import Issue, IssueFile, IssueNote
from orders.representations import file_representation, issue_representation, timestamp
from webhooks import catalogue
from webhooks.models import Event
from webhooks.services import Publication, publish


def issue_created(issue: Issue, children: list[Issue], *, command_id: str | None = None) -> Event:
    data = {"issue": issue_representation(issue, children), "command_id": command_id}
    return publish(issue.integrator, catalogue.ISSUE_CREATED, data, issue=issue)


def status_changed(
    issue: Issue,
    issue_data: dict[str, Any],
    *,
    previous_step_id: int,
    transition: dict[str, Any] | None,
    command_id: str | None = None,
) -> Publication:
    """An issue.status_changed event, given the issue's representation (the caller renders it
    once, for this payload and its own response alike); published with the family's others."""
    data = {
        "issue": issue_data,
        "previous_step": workflow_graph(issue.workflow).step(previous_step_id),
        "transition": transition,
        "command_id": command_id,
    }
    return Publication(catalogue.ISSUE_STATUS_CHANGED, data, issue)


def issue_file_attached(issue: Issue, children: list[Issue], file: IssueFile) -> Event:
    data = {"issue": issue_representation(issue, children), "file": file_representation(file), "command_id": None}
    return publish(issue.integrator, catalogue.ISSUE_FILE_ATTACHED, data, issue=issue)


def issue_updated(issue: Issue, children: list[Issue], *, changed: list[str], command_id: str | None = None) -> Event:
    data = {"issue": issue_representation(issue, children), "changed": changed, "command_id": command_id}
    return publish(issue.integrator, catalogue.ISSUE_UPDATED, data, issue=issue)


def issue_note_added(issue: Issue, children: list[Issue], note: IssueNote, *, command_id: str | None = None) -> Event:
    data = {
        "issue": issue_representation(issue, children),
        "note": {"id": note.pk, "text": note.text, "at": timestamp(note.created_at)},
        "command_id": command_id,
    }
    return publish(issue.integrator, catalogue.ISSUE_NOTE_ADDED, data, issue=issue)
