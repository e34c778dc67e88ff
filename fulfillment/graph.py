"""A workflow as an immutable, cached graph: how a status string resolves to a step, which
transition leads where, and each step's representation (with its transitions) ready to render.

Workflows change rarely and are read on every status change and every issue rendered, so each
process keeps the graph per (workflow id, revision); any edit gives the workflow a new revision.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from fulfillment.models import Step, Transition, Workflow

_CACHE: dict[tuple[int, str], "WorkflowGraph"] = {}
_CACHE_LIMIT = 512


def normalize_status(text: str) -> str:
    """Case-, accent- and surrounding-space-insensitive form: " Por asignar" == "POR ASIGNAR"."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def step_representation(step: Step, transitions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": step.pk,
        "name": step.name,
        "value": step.value,
        "description": step.description,
        "category": step.category,
        "name_frontend": step.name_frontend,
        "description_frontend": step.description_frontend,
        "color": step.color,
        "transitions": transitions,
    }


def transition_representation(transition: Transition) -> dict[str, Any]:
    return {
        "id": transition.pk,
        "name": transition.name,
        "description": transition.description,
        "from_step_id": transition.from_step_id,
        "to_step_id": transition.to_step_id,
    }


@dataclass(frozen=True)
class WorkflowGraph:
    workflow_id: int
    code: str
    name: str
    initial_step_id: int | None
    steps: dict[int, dict[str, Any]]
    values: dict[int, str]
    categories: dict[int, str]
    transitions: dict[tuple[int, int], dict[str, Any]]
    _lookup: dict[str, int] = field(repr=False)

    def resolve(self, status: str) -> int | None:
        """The step a status string names (by value, name or name_frontend), or None."""
        return self._lookup.get(normalize_status(status))

    def step_with_value(self, value: str) -> int | None:
        return next((step_id for step_id, v in self.values.items() if v == value), None)

    def transition(self, from_step_id: int, to_step_id: int) -> dict[str, Any] | None:
        return self.transitions.get((from_step_id, to_step_id))

    def step(self, step_id: int) -> dict[str, Any]:
        return self.steps[step_id]

    def representation(self) -> dict[str, Any]:
        return {
            "id": self.workflow_id,
            "code": self.code,
            "name": self.name,
            "initial_step_id": self.initial_step_id,
            "steps": list(self.steps.values()),
        }


def workflow_graph(workflow: Workflow) -> WorkflowGraph:
    key = (workflow.pk, workflow.revision)
    graph = _CACHE.get(key)
    if graph is None:
        graph = _build(workflow)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = graph
    return graph


def _build(workflow: Workflow) -> WorkflowGraph:
    steps = list(Step.objects.filter(workflow=workflow).order_by("position", "id"))
    transitions = list(Transition.objects.filter(workflow=workflow).order_by("id"))
    outgoing: dict[int, list[dict[str, Any]]] = {s.pk: [] for s in steps}
    by_pair: dict[tuple[int, int], dict[str, Any]] = {}
    for t in transitions:
        rep = transition_representation(t)
        outgoing.setdefault(t.from_step_id, []).append(rep)
        by_pair.setdefault((t.from_step_id, t.to_step_id), rep)
    lookup: dict[str, int] = {}
    # Later writes win: a step's value beats another step's name, which beats a frontend name.
    for attr in ("name_frontend", "name", "value"):
        for s in reversed(steps):
            text = getattr(s, attr)
            if text:
                lookup[normalize_status(text)] = s.pk
    return WorkflowGraph(
        workflow_id=workflow.pk,
        code=workflow.code,
        name=workflow.name,
        initial_step_id=workflow.initial_step_id,
        steps={s.pk: step_representation(s, outgoing[s.pk]) for s in steps},
        values={s.pk: s.value for s in steps},
        categories={s.pk: s.category for s in steps},
        transitions=by_pair,
        _lookup=lookup,
    )
