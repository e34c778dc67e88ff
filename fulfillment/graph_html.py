"""The read-only picture of a workflow staff see in admin: an SVG of steps and transitions, and
the same as a table."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from fulfillment.graph import WorkflowGraph

_BOX_W, _BOX_H, _GAP_X, _ROW_Y = 150, 44, 40, 70


def _svg(graph: WorkflowGraph) -> SafeString:
    """Steps left to right in their display order; a transition is an arc above (forward) or
    below (backward) the row of steps."""
    order = list(graph.steps)
    x = {step_id: 10 + n * (_BOX_W + _GAP_X) for n, step_id in enumerate(order)}
    width = 20 + len(order) * (_BOX_W + _GAP_X)
    height = _ROW_Y * 2 + _BOX_H + 60
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'
    ]
    for (src, dst), _transition in graph.transitions.items():
        x1, x2 = x[src] + _BOX_W / 2, x[dst] + _BOX_W / 2
        forward = x2 > x1
        y = _ROW_Y if forward else _ROW_Y + _BOX_H
        bend = y - 30 - abs(x2 - x1) / 12 if forward else y + 30 + abs(x2 - x1) / 12
        parts.append(
            format_html(
                '<path d="M{},{} Q{},{} {},{}" fill="none" stroke="#555" marker-end="url(#arrow)"/>',
                x1,
                y,
                (x1 + x2) / 2,
                bend,
                x2,
                y,
            )
        )
    for step_id in order:
        step = graph.steps[step_id]
        initial = " stroke-width=3" if step_id == graph.initial_step_id else ""
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" rx="8" fill="{}" stroke="#333"{}/>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="12">{}</text>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="9">{}</text>',
                x[step_id],
                _ROW_Y,
                _BOX_W,
                _BOX_H,
                step["color"],
                mark_safe(initial),
                x[step_id] + _BOX_W / 2,
                _ROW_Y + 19,
                step["name"],
                x[step_id] + _BOX_W / 2,
                _ROW_Y + 34,
                f"{step['value']} · {step['category']}",
            )
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">{}</svg>',
        width, height, mark_safe("".join(parts)),
    )  # fmt: skip


def workflow_graph_html(graph: WorkflowGraph) -> SafeString:
    names = {step_id: step["name"] for step_id, step in graph.steps.items()}
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>→ {}</td></tr>",
        ((t["name"], names.get(t["from_step_id"]), names.get(t["to_step_id"])) for t in graph.transitions.values()),
    )
    table = format_html(
        "<table><thead><tr><th>transition</th><th>from</th><th>to</th></tr></thead><tbody>{}</tbody></table>", rows
    )
    return format_html('<div style="overflow-x:auto">{}</div>{}', _svg(graph), table)
