"""A workflow as a Mermaid state diagram: its steps (name, value, category), its transitions
(named), its timeouts, where issues start and where they end. Generated from the rows, so the
picture in docs/order-lifecycle.md is the workflow the API runs (a test keeps it current)."""

import re

from fulfillment.models import StepCategory, Workflow

_CLASS_STYLES = {
    StepCategory.TO_DO: "fill:#ECEFF1,stroke:#607D8B",
    StepCategory.IN_PROGRESS: "fill:#FFF3E0,stroke:#EBA859",
    StepCategory.DONE: "fill:#E8F5E9,stroke:#43A047",
}


def _state(value: str) -> str:
    """A Mermaid state id: a step's value with anything but letters, digits and _ replaced."""
    return re.sub(r"\W", "_", value, flags=re.ASCII) or "step"


def _label(text: str) -> str:
    return re.sub(r"[:;#\n]", " ", text).strip()  # what would end or break a Mermaid label


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def workflow_mermaid(workflow: Workflow) -> str:
    steps = list(workflow.steps.order_by("position", "id"))
    transitions = list(workflow.transitions.select_related("from_step", "to_step").order_by("id"))
    timeouts = {s.timeout_transition_id: s.timeout_seconds for s in steps if s.timeout_transition_id}
    lines = ["stateDiagram-v2", "    direction LR"]
    for step in steps:
        lines.append(f"    {_state(step.value)}: {_label(step.name)} ({step.value})")
    if workflow.initial_step_id:
        lines.append(f"    [*] --> {_state(workflow.initial_step.value)}")
    for transition in transitions:
        label = _label(transition.name)
        if transition.pk in timeouts:
            label += f" (after {_duration(timeouts[transition.pk])})"
        lines.append(f"    {_state(transition.from_step.value)} --> {_state(transition.to_step.value)}: {label}")
    for step in steps:
        if step.category == StepCategory.DONE:
            lines.append(f"    {_state(step.value)} --> [*]")
    for category, style in _CLASS_STYLES.items():
        members = [_state(s.value) for s in steps if s.category == category]
        if members:
            lines.append(f"    classDef {category.lower()} {style}")
            lines.append(f"    class {','.join(members)} {category.lower()}")
    return "\n".join(lines) + "\n"
