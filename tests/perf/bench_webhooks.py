"""Webhook delivery benchmark (`make bench`).

1. Throughput: N events are published (one transaction each) while no worker runs, then the
   worker starts and drains them: delivered events/s, first to last receipt.
2. Baseline: the same N bodies signed (our signer) and POSTed to the same receiver by a raw loop
   with the same HTTP client (libcurl via webhooks.transport), in batches of WEBHOOKS_BATCH_SIZE from
   as many threads as keep WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT in flight (what the workers may have
   in flight to one receiver), per worker process: events/s, and the ratio worker/raw.
   1. and 2. run in turns, BENCH_ROUNDS times (3): the median ratio is the figure.
3. Saturation: several threads, each for an integrator of its own, publish as fast as they can
   for a while, with the worker running: the rate the whole path sustains (publishing costs
   CPU too, on the same cores), and commit→receipt p50/p99 at that load.
4. Latency: events offered at half the sustained rate (the lower of 1. and 3.) for a while:
   commit→receipt p50/p99.

The worker is the Procfile's `worker`, as production runs it (one process). Env: BENCH_EVENTS
(default 2000), BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_PUBLISHERS (4); BENCH_PROCESSES
runs that many thread-pool workers of BENCH_THREADS (16) instead of the Procfile's, to compare.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf._harness import ROOT, percentile, prepare_environment, print_rows, start_bench_workers, stop

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "0"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


def raw_threads() -> int:
    from django.conf import settings

    per_process = max(1, settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT // settings.WEBHOOKS_BATCH_SIZE)
    return per_process * max(PROCESSES, 1)


def main() -> None:
    env = prepare_environment()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver = subprocess.Popen([sys.executable, str(ROOT / "tests/perf/receiver.py"), str(port)])
    import django

    django.setup()
    import urllib3
    from django.conf import settings
    from django.db import connection, transaction

    from fulfillment.services import integrator_create
    from webhooks import signing, transport
    from webhooks.models import Event
    from webhooks.services import publish, webhook_create

    http = urllib3.PoolManager()
    base = f"http://127.0.0.1:{port}"
    time.sleep(0.5)

    def received() -> dict[str, float]:
        return json.loads(http.request("GET", base + "/stats").data)

    def wait_all(ids: set[str], timeout: float = 120) -> dict[str, float]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = received()
            if ids <= got.keys():
                return got
            time.sleep(0.2)
        raise SystemExit(f"only {len(ids & received().keys())} of {len(ids)} events arrived")

    integrator = integrator_create(name="bench").integrator
    endpoint = webhook_create(integrator=integrator, url=base + "/hook")
    workers = []
    try:
        size = settings.WEBHOOKS_BATCH_SIZE

        def raw_send(chunk: list[tuple[str, bytes]]) -> None:
            requests = []
            for event_id, body in chunk:
                ts = int(time.time())
                headers = {
                    "webhook-id": event_id,
                    "webhook-timestamp": str(ts),
                    "webhook-signature": signing.signature_header([endpoint.secret], event_id, ts, body),
                }
                requests.append(transport.Request(base + "/hook", body, headers))
            transport.post_many(requests)

        # 1. and 2., in turns (this machine's speed drifts within a minute; each round's ratio
        #    compares two runs seconds apart):
        rounds = []
        for _ in range(ROUNDS):
            # 1. Throughput: a backlog published while no worker runs, the statistics updated as
            #    autovacuum would have in steady state, then the worker started to drain it.
            http.request("DELETE", base + "/stats")
            ids = set()
            for n in range(EVENTS):
                with transaction.atomic():
                    ids.add(publish(integrator, "webhook.test", {"n": n, "padding": "x" * 400}).id)
            connection.cursor().execute("ANALYZE")
            workers, setup = start_bench_workers(
                env, procfile_names=["worker"], shown="worker", queues="webhooks,default"
            )
            got = wait_all(ids)
            stop(workers)
            times = sorted(got[i] for i in ids)
            worker_rate = (len(times) - 1) / (times[-1] - times[0])

            # 2. Raw loop: the same bodies, signed and POSTed in batches by the same HTTP client
            #    (libcurl, webhooks.transport) from the same processes × threads, with no database
            #    or broker.
            http.request("DELETE", base + "/stats")
            bodies = [
                (e.id, json.dumps(e.representation(), separators=(",", ":")).encode())
                for e in Event.objects.filter(id__in=ids)
            ]
            started = time.time()
            with ThreadPoolExecutor(raw_threads()) as pool:
                list(pool.map(raw_send, [bodies[i : i + size] for i in range(0, len(bodies), size)]))
            raw_rate = len(bodies) / (time.time() - started)
            rounds.append((worker_rate, raw_rate))
        worker_rate = statistics.median(w for w, _ in rounds)
        ratios = [w / r for w, r in rounds]
        workers, setup = start_bench_workers(env, procfile_names=["worker"], shown="worker", queues="webhooks,default")

        # 3. and 4.: several publishing threads, each for an integrator of its own (one
        #    integrator's events are numbered in commit order, so its commits queue one after
        #    another), all to the same receiver; first flat out, then at half the sustained rate.
        publishers = int(os.environ.get("BENCH_PUBLISHERS", "4"))
        tenants = [integrator] + [integrator_create(name=f"bench {n}").integrator for n in range(1, publishers)]
        for tenant in tenants[1:]:
            webhook_create(integrator=tenant, url=base + "/hook")

        def offer(rate: float | None, seconds: float) -> tuple[float, list[float]]:
            """Publish at `rate` events/s in all (None: as fast as possible) for `seconds`;
            returns the rate reached and each event's commit→receipt latency."""
            http.request("DELETE", base + "/stats")
            commits: dict[str, float] = {}

            def publisher(integrator: object) -> None:
                from django.db import connection

                next_at = time.time()
                until = next_at + seconds
                while time.time() < until:
                    with transaction.atomic():
                        event_id = publish(integrator, "webhook.test", {"latency": True}).id
                    commits[event_id] = time.time()
                    if rate is not None:
                        next_at += publishers / rate
                        time.sleep(max(0.0, next_at - time.time()))
                connection.close()

            threads = [threading.Thread(target=publisher, args=(tenant,)) for tenant in tenants]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            got = wait_all(set(commits))
            return len(commits) / seconds, [got[i] - commits[i] for i in commits]

        flat_out, saturated = offer(None, SECONDS / 2)
        sustained = min(worker_rate, flat_out)
        reached, latencies = offer(sustained / 2, SECONDS)
    finally:
        stop(workers)
        receiver.terminate()

    print_rows(
        f"webhooks: {EVENTS} events, one local receiver; "
        + setup
        + f"; raw loop: libcurl batches of {settings.WEBHOOKS_BATCH_SIZE} from {raw_threads()} thread(s)",
        [
            ("worker delivered/s", "  ".join(f"{w:.0f}" for w, _ in rounds)),
            ("raw sign+POST/s", "  ".join(f"{r:.0f}" for _, r in rounds)),
            ("ratio worker/raw", "  ".join(f"{q:.2f}" for q in ratios)),
            ("  median", f"{statistics.median(ratios):.2f}  (target ≥ 0.5)"),
            (f"published flat out/s ({publishers} threads)", f"{flat_out:.0f} over {SECONDS / 2:.0f} s"),
            ("  at that load: p50", f"{percentile(saturated, 50) * 1000:.0f} ms"),
            ("  at that load: p99", f"{percentile(saturated, 99) * 1000:.0f} ms"),
            ("half the sustained rate", f"{sustained / 2:.0f}/s offered, {reached:.0f}/s reached over {SECONDS:.0f} s"),
            ("  commit→receipt p50", f"{percentile(latencies, 50) * 1000:.0f} ms"),
            ("  commit→receipt p99", f"{percentile(latencies, 99) * 1000:.0f} ms  (target < 1000 ms)"),
        ],
    )


if __name__ == "__main__":
    main()
