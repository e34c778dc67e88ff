"""Command benchmark (`make bench`): accepted→succeeded commands/s and end-to-end latency with
the default worker settings: the Procfile's `commands` worker, as production runs it.

1. Throughput: N commands (AddNote and ChangeStatus, spread over ISSUES issues, so the per-issue
   order constrains each chain) are accepted through the same service as POST /api/commands
   while no worker runs; then the worker starts: N over first start to last success.
2. Latency: commands accepted at half that rate with the worker running: accepted→succeeded
   p50/p99 (finished_at - created_at).
Env: BENCH_COMMANDS (2000), BENCH_ISSUES (100), BENCH_SECONDS (10); BENCH_PROCESSES and
BENCH_THREADS run that many thread-pool workers instead of the Procfile's, to compare.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf._harness import percentile, prepare_environment, print_rows, start_bench_workers, stop

COMMANDS = int(os.environ.get("BENCH_COMMANDS", "2000"))
ISSUES = int(os.environ.get("BENCH_ISSUES", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


def main() -> None:
    env = prepare_environment()
    import django

    django.setup()
    from commands.models import Command
    from commands.services import command_accept
    from fulfillment.demo import delivery_workflow_seed
    from fulfillment.services import integrator_create
    from orders.services import Actor, issue_create

    delivery_workflow_seed()
    integrator = integrator_create(name="bench").integrator
    for n in range(ISSUES):
        issue_create(integrator=integrator, client_issue_id=f"i{n}", actor=Actor.system())

    def body(n: int) -> dict:
        issue = f"i{n % ISSUES}"
        if n < ISSUES:
            return {"type": "ChangeStatus", "client_issue_id": issue, "status": "En preparación"}
        return {"type": "AddNote", "client_issue_id": issue, "text": f"note {n}"}

    started = time.time()
    for n in range(COMMANDS):
        command_accept(integrator=integrator, body=body(n))
    accept_rate = COMMANDS / (time.time() - started)

    def wait_done() -> None:
        deadline = time.time() + 300
        while Command.objects.exclude(status__in=["succeeded", "failed"]).exists():
            if time.time() > deadline:
                raise SystemExit("commands did not finish in 300 s")
            time.sleep(0.2)

    workers, setup = start_bench_workers(
        env, procfile_names=["worker", "commands"], shown="commands", queues="commands,webhooks,default", threads=8
    )
    try:
        wait_done()
        backlog = list(Command.objects.values_list("status", "started_at", "finished_at"))
        first = min(s for _, s, _ in backlog)
        last = max(f for _, _, f in backlog)
        rate = len(backlog) / (last - first).total_seconds()
        failed = sum(1 for s, _, _ in backlog if s != "succeeded")

        latest = Command.objects.order_by("-id").values_list("id", flat=True).first()
        interval, n = 1 / (rate / 2), COMMANDS
        next_at = time.time()
        until = next_at + SECONDS
        while time.time() < until:
            command_accept(integrator=integrator, body=body(n))
            n += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.time()))
        wait_done()
    finally:
        stop(workers)
    timed = Command.objects.filter(id__gt=latest).values_list("created_at", "finished_at")
    latencies = [(f - c).total_seconds() for c, f in timed]
    print_rows(
        f"commands: {COMMANDS} over {ISSUES} issues; {setup}",
        [
            ("accepted/s (one client, no worker)", f"{accept_rate:.0f}"),
            ("accepted→succeeded/s (backlog)", f"{rate:.0f}  (target ≥ 300)"),
            ("failed", str(failed)),
            ("latency run", f"{len(latencies)} commands at {rate / 2:.0f}/s offered"),
            ("accept→success p50", f"{percentile(latencies, 50) * 1000:.0f} ms"),
            ("accept→success p99", f"{percentile(latencies, 99) * 1000:.0f} ms"),
        ],
    )


if __name__ == "__main__":
    main()
