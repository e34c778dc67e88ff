"""Reads of issues, always scoped to one integrator: another integrator's issue does not exist."""

import functools
from datetime import datetime

from django.db import connection
from django.db.models import Prefetch, QuerySet

from fulfillment.graph import workflow_graph
from fulfillment.models import Integrator, Workflow
from fulfillment.selectors import workflows_for
from getitdone import rows
from getitdone.errors import NotFound
from orders.models import Issue, IssueFile, StatusChange


def _children_prefetch() -> Prefetch:
    return Prefetch("children", queryset=Issue.objects.select_related("workflow").order_by("id"))


@functools.cache
def _family_query() -> tuple[str, rows.Columns, rows.Columns]:
    issue, workflow = rows.Columns(Issue, "o"), rows.Columns(Workflow, "w")
    sql = (
        f"SELECT {issue.sql}, {workflow.sql} FROM {Issue._meta.db_table} o"
        f" JOIN {Workflow._meta.db_table} w ON w.id = o.workflow_id"
        " WHERE o.integrator_id = %s AND o.client_issue_id = %s ORDER BY o.id"
    )
    return sql, issue, workflow


def issue_family(*, integrator: Integrator, client_issue_id: str, lock: bool = False) -> list[Issue]:
    """The root issue with this client id and its children, in id order, each with its
    workflow, in one query (children share their root's client id: issue_family_idx). `lock`
    takes their row locks, in that order, for the caller's transaction."""
    sql, issue_columns, workflow_columns = _family_query()
    if lock and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF o"
    family = []
    for row in rows.fetch(sql, [integrator.pk, client_issue_id]):
        issue = issue_columns.load(row)
        issue.workflow = workflow_columns.load(row, len(issue_columns))
        issue.integrator = integrator
        family.append(issue)
    return family


def issue_get(*, integrator: Integrator, client_issue_id: str) -> Issue:
    """The root issue with this client id, with `family_children` (in id order), in one query."""
    family = issue_family(integrator=integrator, client_issue_id=client_issue_id)
    root = next((issue for issue in family if issue.parent_id is None), None)
    if root is None:
        raise NotFound("No such issue.")
    root.family_children = [issue for issue in family if issue.parent_id == root.pk]
    return root


def issue_list(
    *,
    integrator: Integrator,
    status: str | None = None,
    category: str | None = None,
    updated_after: datetime | None = None,
) -> QuerySet[Issue]:
    qs = (
        Issue.objects.filter(integrator=integrator, parent__isnull=True)
        .select_related("workflow")
        .prefetch_related(_children_prefetch())
    )
    if status:
        # The same resolution as a status change: value, name or frontend name, ignoring case,
        # accents and surrounding spaces, in each workflow the integrator may use.
        graphs = (workflow_graph(w) for w in workflows_for(integrator, offered_only=False))
        qs = qs.filter(step_id__in=[step for g in graphs if (step := g.resolve(status)) is not None])
    if category:
        qs = qs.filter(step__category=category)
    if updated_after:
        qs = qs.filter(updated_at__gt=updated_after)
    return qs


def issue_history(*, issue: Issue) -> QuerySet[StatusChange]:
    return StatusChange.objects.filter(issue=issue).select_related("from_step", "to_step")


def issue_files(*, issue: Issue) -> QuerySet[IssueFile]:
    return IssueFile.objects.filter(issue=issue)


def file_get(*, integrator: Integrator, file_id: int) -> IssueFile:
    file = IssueFile.objects.filter(integrator=integrator, pk=file_id).first()
    if file is None:
        raise NotFound("No such file.")
    return file
