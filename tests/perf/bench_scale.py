"""p99 of PUT status and of the poll as the tables grow (issue 14): 10 k, then 1 M issues and
events, filled with SQL (generate_series), not through the API.

Our app is served as bench_api serves it (the Procfile's gunicorn) over the bench's issues; the
filler rows belong to the same integrator, so every query of the bench integrator walks indexes
of the full size (the filler issues are in a workflow of their own). The PUT row moves the
bench's issues without children; the poll row reads the
newest 100 events (`after` = the last sequence - 100), where a poller that keeps up reads. Each
size runs the two rows in 3 alternating rounds; the table prints the median p99 at each size
and its growth (target ≤ 1.5×). Env: BENCH_SCALE_SIZES ("10000,1000000"), BENCH_SECONDS,
BENCH_ROUNDS, BENCH_ISSUES (the hot set, 3,000).

    .venv/bin/python tests/perf/bench_scale.py   # with make test's environment; ~6 min
"""

import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import bench_api  # noqa: E402
from tests.perf._harness import prepare_environment, stop  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_SIZES", "10000,1000000").split(",")]

_FILL_ISSUES = """
INSERT INTO orders_issue (integrator_id, client_issue_id, workflow_id, step_id, parent_id, webhook_url, details,
                          version, step_entered_at, created_at, updated_at)
SELECT %(integrator)s, 'F-' || n, %(workflow)s, %(step)s, NULL, '',
       jsonb_build_object('customer', jsonb_build_object('name', 'Cliente ' || n), 'items', '[{"sku": "X"}]'::jsonb),
       1, now(), now(), now()
FROM generate_series(%(start)s, %(stop)s) AS n
"""
_FILL_EVENTS = """
INSERT INTO webhooks_event (id, integrator_id, type, sequence, api_version, data, issue_id, created_at)
SELECT 'evt_fill_' || (%(base)s + n), %(integrator)s, 'issue.updated', %(base)s + n, '1',
       jsonb_build_object('issue', jsonb_build_object('id', n, 'client_issue_id', 'F-' || n), 'changed', '[]'::jsonb),
       NULL, now()
FROM generate_series(%(start)s, %(stop)s) AS n
"""


def fill_to(size: int) -> int:
    """Issues and events each up to `size` rows; returns the integrator's last sequence."""
    from django.db import connection

    from fulfillment.models import Integrator, Step, StepCategory, Workflow
    from orders.models import Issue
    from webhooks.models import Event, EventSequence

    integrator = Integrator.objects.get(name="bench")
    # The fillers' own workflow: bench_api.reset_steps, before each PUT round, touches the hot set only.
    workflow, _ = Workflow.objects.get_or_create(code="filler", defaults={"name": "Filler"})
    if workflow.initial_step_id is None:
        workflow.initial_step = Step.objects.create(
            workflow=workflow, name="F", value="F", category=StepCategory.TO_DO, position=0
        )
        workflow.save()
    with connection.cursor() as cursor:
        issues = Issue.objects.count()
        if issues < size:
            cursor.execute(
                _FILL_ISSUES,
                {"integrator": integrator.pk, "workflow": workflow.pk, "step": workflow.initial_step_id,
                 "start": issues, "stop": size - 1},
            )  # fmt: skip
        events = Event.objects.count()
        last = EventSequence.objects.get(integrator=integrator).last_value
        if events < size:
            cursor.execute(_FILL_EVENTS, {"integrator": integrator.pk, "base": last, "start": 1, "stop": size - events})
            last += size - events
            EventSequence.objects.filter(integrator=integrator).update(last_value=last)
        cursor.execute("ANALYZE orders_issue")
        cursor.execute("ANALYZE webhooks_event")
    return last


def main() -> None:
    env = prepare_environment({"API_RATE_LIMIT": "100000000/min"}, database="getitdone_bench_scale")
    client_id, client_secret = bench_api.seed()
    server, base = bench_api.serve(env, "getitdone.wsgi:application", "getitdone.settings")
    measured: dict[int, dict[str, list[float]]] = {}
    try:
        token = bench_api.token(base, client_id, client_secret)
        for size in SIZES:
            started = time.monotonic()
            last = fill_to(size)
            print(f"  filled to {size:,} issues and events in {time.monotonic() - started:.0f} s", flush=True)
            rows = {
                "PUT /api/issues/status/{id}": (
                    f"{base}/api/issues/status/",
                    bench_api.script("PUT", "/api/issues/status/", "W-"),
                ),
                "GET /api/events (newest 100)": (f"{base}/api/events?after={last - 100}&limit=100", None),
            }
            bench_api.wrk(rows["GET /api/events (newest 100)"][0], token, seconds=2)  # warm the new pages
            measured[size] = {name: [] for name in rows}
            for _round in range(bench_api.ROUNDS):
                for name, (url, lua) in rows.items():
                    if lua:
                        bench_api.reset_steps()
                    measured[size][name].append(bench_api.wrk(url, token, script=lua)["p99"])
    finally:
        stop([server])

    small, large = SIZES[0], SIZES[-1]
    print(f"\nAPI p99 as the tables grow: wrk -t2 -c8, {bench_api.SECONDS} s a row, {bench_api.ROUNDS} rounds; medians")
    print(f"  {'row':<32} {f'{small:,}':>12} {f'{large:,}':>12} {'growth':>8} {'target':>8}")
    summary = {}
    for name in measured[small]:
        p99 = {size: statistics.median(measured[size][name]) for size in SIZES}
        growth = p99[large] / p99[small]
        summary[name] = {"p99_ms": p99, "growth": growth}
        print(f"  {name:<32} {p99[small]:>9.1f} ms {p99[large]:>9.1f} ms {growth:>7.2f}× {'≤ 1.5×':>8}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    bench_api.RESULTS.mkdir(parents=True, exist_ok=True)
    (bench_api.RESULTS / f"scale-{stamp}.json").write_text(
        json.dumps({"at": stamp, "sizes": SIZES, "rows": summary, "runs": measured}, indent=2, default=str)
    )
    print(f"  saved var/bench/scale-{stamp}.json")


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"  ({time.monotonic() - start:.0f} s)")
