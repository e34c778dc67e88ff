"use strict";
// The workflow editor: lays out the graph with the vendored Mermaid, and offers the steps typed
// in the step rows (saved or not yet) to the transition rows' "From step" and "To step" inputs.
{
    const STEP_LIST = "gid-workflow-steps";

    function renderGraphs() {
        const nodes = document.querySelectorAll("pre.gid-mermaid");
        if (!nodes.length || !window.mermaid) {
            return;
        }
        window.mermaid.initialize({
            startOnLoad: false,
            securityLevel: "strict",
            theme: "default",
            flowchart: {useMaxWidth: true, curve: "basis"},
        });
        window.mermaid.run({nodes: nodes});
    }

    function stepRows() {
        // Inputs named steps-N-value / steps-N-name, in rows not ticked for deletion.
        const seen = new Map();
        for (const input of document.querySelectorAll("input[name^='steps-']")) {
            const match = /^steps-(\d+)-(value|name)$/.exec(input.name);
            const deleted = document.querySelector(`input[name='steps-${match && match[1]}-DELETE']`);
            if (!match || !input.value.trim() || (deleted && deleted.checked)) {
                continue;
            }
            const row = seen.get(match[1]) || {};
            row[match[2]] = input.value.trim();
            seen.set(match[1], row);
        }
        return [...seen.values()];
    }

    function refreshStepList() {
        let list = document.getElementById(STEP_LIST);
        if (!list) {
            list = document.createElement("datalist");
            list.id = STEP_LIST;
            document.body.appendChild(list);
        }
        list.replaceChildren(...stepRows().filter(row => row.value).map(row => {
            const option = document.createElement("option");
            option.value = row.value;
            if (row.name && row.name !== row.value) {
                option.label = row.name;
            }
            return option;
        }));
    }

    document.addEventListener("DOMContentLoaded", () => {
        renderGraphs();
        refreshStepList();
        document.addEventListener("input", event => {
            if (event.target.name && event.target.name.startsWith("steps-")) {
                refreshStepList();
            }
        });
        document.addEventListener("change", event => {
            if (event.target.name && event.target.name.startsWith("steps-")) {
                refreshStepList();
            }
        });
    });
}
