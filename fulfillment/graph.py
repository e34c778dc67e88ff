"""A workflow as an immutable, cached graph: how a status string resolves to a step, which
transition leads where, and each step's representation (with its transitions) ready to render.

Workflows change rarely and are read on every status change and every issue rendered, so each
process keeps the graph per (workflow id, revision); any edit gives the workflow a new revision.

`workflow_mermaid` draws a workflow for people: Mermaid flowchart source, which the admin lays out
with the Mermaid it serves from its own static files.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fulfillment.models import Step, StepCategory, Transition, Workflow

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


# --- The picture: Mermaid flowchart source -----------------------------------------------------

# Fill, border and text by category; the shape says it again for who cannot tell the colours.
_CATEGORY_LOOK = {
    StepCategory.TO_DO: ("todo", '["{}"]', "fill:#ECEFF3,stroke:#5B6B7C,color:#1B2631"),
    StepCategory.IN_PROGRESS: ("inprogress", '("{}")', "fill:#DCEBFA,stroke:#2F6FB2,color:#0D2A4A"),
    StepCategory.DONE: ("done", '(["{}"])', "fill:#DFF2E1,stroke:#2E7D32,color:#12361A"),
}
_SAFE_PUNCTUATION = set(" .,:_-/'+()!?¿¡·")


def _mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: anything that could end or change the label (quotes,
    brackets, `#`, `;`, `<`) as a Mermaid entity code, so staff input stays text."""
    return "".join(c if c.isalnum() or c in _SAFE_PUNCTUATION else f"#{ord(c)};" for c in text)


def duration_text(seconds: int) -> str:
    """1800 → "30 min", 5400 → "1 h 30 min", 45 → "45 s"."""
    parts, rest = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts[:2]) or "0 s"


def workflow_mermaid(workflow: Workflow) -> str:
    """The workflow as Mermaid flowchart source: steps coloured and shaped by category, the
    initial one marked by the start dot and a thick border, each transition an arrow with its
    name, a step's timeout on the step and on its (dotted) timeout transition."""
    steps = list(Step.objects.filter(workflow=workflow).order_by("position", "id"))
    transitions = list(Transition.objects.filter(workflow=workflow).order_by("id"))
    lines = [
        "flowchart LR",
        # Plain text to the end of the line: no entity codes there.
        # `%%` would start a comment or a directive (`%%{init: …}%%`): staff text loses its `%`.
        "    accTitle: " + " ".join((_("Workflow %(name)s") % {"name": workflow.name}).replace("%", "").split()),
    ]
    for _category, (css_class, _shape, style) in _CATEGORY_LOOK.items():
        lines.append(f"    classDef {css_class} {style}")
    lines.append("    classDef start fill:#1B2631,stroke:#1B2631")
    timeouts = {}
    for step in steps:
        css_class, shape, _style = _CATEGORY_LOOK.get(step.category, _CATEGORY_LOOK[StepCategory.TO_DO])
        label = [_mermaid_text(step.name)]
        if step.value != step.name:
            label.append(_mermaid_text(step.value))
        if step.timeout_seconds:
            label.append(_mermaid_text(_("timeout: %(duration)s") % {"duration": duration_text(step.timeout_seconds)}))
            if step.timeout_transition_id:
                timeouts[step.timeout_transition_id] = step.timeout_seconds
        lines.append(f"    s{step.pk}{shape.format('<br/>'.join(label))}:::{css_class}")
    if workflow.initial_step_id and any(s.pk == workflow.initial_step_id for s in steps):
        lines.append('    start(("&nbsp;")):::start')
        lines.append(f"    start --> s{workflow.initial_step_id}")
        lines.append(f"    style s{workflow.initial_step_id} stroke-width:4px")
    for t in transitions:
        if t.pk in timeouts:
            after = {"transition": t.name, "duration": duration_text(timeouts[t.pk])}
            label = _mermaid_text(_("%(transition)s (after %(duration)s)") % after)
            lines.append(f'    s{t.from_step_id} -.->|"{label}"| s{t.to_step_id}')
        else:
            lines.append(f'    s{t.from_step_id} -->|"{_mermaid_text(t.name)}"| s{t.to_step_id}')
    return "\n".join(lines) + "\n"
