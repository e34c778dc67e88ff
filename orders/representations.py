"""How an issue, its history and its files look to integrators (API.md §4, §5). One place, used
by the API responses and the event payloads alike, so both always agree."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from fulfillment.graph import workflow_graph
from getitdone.formats import iso_timestamp
from orders.models import Issue, IssueFile, StatusChange


def timestamp(value: datetime) -> str:
    return iso_timestamp(value)


def issue_representation(issue: Issue, children: list[Issue] | None = None) -> dict[str, Any]:
    """The seed's issue object plus `details`, `version`, `created_at`, `updated_at`.

    `children` are rendered as given (callers load them once); a child has none of its own.
    """
    graph = workflow_graph(issue.workflow)
    return {
        "id": issue.pk,
        "client_issue_id": issue.client_issue_id,
        "workflow_id": issue.workflow_id,
        "parent_issue_id": issue.parent_id,
        "step_id": issue.step_id,
        "step": graph.step(issue.step_id),
        "webhook_url": issue.webhook_url or None,
        "children": [issue_representation(child, []) for child in (children or [])],
        "details": issue.details,
        "version": issue.version,
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.updated_at),
    }


def history_representation(change: StatusChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "from_step_id": change.from_step_id,
        "to_step_id": change.to_step_id,
        "from_status": change.from_step.value if change.from_step_id else None,
        "to_status": change.to_step.value,
        "transition_id": change.transition_id,
        "at": timestamp(change.at),
        "actor": {"type": change.actor_type, "id": change.actor_id or None},
        "note": change.note,
    }


def file_representation(file: IssueFile, base_url: str | None = None) -> dict[str, Any]:
    path = reverse("api:file-content", kwargs={"file_id": file.pk})
    base = settings.PUBLIC_BASE_URL if base_url is None else base_url
    return {
        "id": file.pk,
        "issue_id": file.issue_id,
        "name": file.name,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "kind": file.kind,
        "created_at": timestamp(file.created_at),
        "download_url": base.rstrip("/") + path,
    }
