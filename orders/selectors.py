"""Reads of issues, always scoped to one integrator: another integrator's issue does not exist."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from fulfillment.graph import workflow_graph
from fulfillment.models import Integrator
from fulfillment.selectors import workflows_for
from getitdone.errors import NotFound
from orders.models import Issue, IssueFile, StatusChange


def _children_prefetch() -> Prefetch:
    return Prefetch("children", queryset=Issue.objects.select_related("workflow").order_by("id"))


def issue_get(*, integrator: Integrator, client_issue_id: str, with_children: bool = True) -> Issue:
    """The root issue with this client id, its children prefetched (writers that lock and
    re-read the family pass with_children=False)."""
    qs = Issue.objects.select_related("workflow", "integrator").filter(
        integrator=integrator, client_issue_id=client_issue_id, parent__isnull=True
    )
    issue = (qs.prefetch_related(_children_prefetch()) if with_children else qs).first()
    if issue is None:
        raise NotFound("No such issue.")
    return issue


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
