"""Where an API hot path spends its time: py-spy samples the gunicorn workers while wrk drives
one row of the API bench (tests/perf/bench_api.py), then the samples are summed by stage.

    .venv/bin/python tests/perf/profile_api.py get     # GET /api/issues/{id}
    .venv/bin/python tests/perf/profile_api.py put     # PUT /api/issues/status/{id} (an issue without children)
    .venv/bin/python tests/perf/profile_api.py poll    # GET /api/events?after=…&limit=100

(with make test's environment, as `make bench` sets it; PROFILE_SECONDS, default 15). The
collapsed stacks land in var/bench/profile-<row>.txt: feed them to speedscope or flamegraph.pl.
Only samples holding the GIL are counted (py-spy --gil): a request waiting on PostgreSQL or
Redis shows up in the bench's latency, not here.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import bench_api  # noqa: E402
from tests.perf._harness import prepare_environment, stop  # noqa: E402

# A sample belongs to the first stage (in this order) any of whose markers appears in its stack.
STAGES = [
    ("authentication (token lookup)", ["authentication.py", "oauth2_provider", "oauthlib", "jwt/"]),
    ("rate limit (throttle)", ["throttling.py"]),
    ("service (status change)", ["orders/services.py", "orders/events.py", "webhooks/services.py"]),
    ("loading the issue", ["orders/selectors.py", "webhooks/selectors.py"]),
    ("representation", ["representations.py", "graph.py"]),
    ("rendering JSON", ["renderers.py"]),
    ("parsing and validating input", ["parsers.py", "serializers.py", "rest_framework/fields.py"]),
    ("middleware", ["middleware"]),
    ("gunicorn and WSGI", ["gunicorn/", "django/core/handlers"]),
]
# Cross-cutting: samples whose stack runs through these, wherever they were called from.
ACROSS = [
    ("ORM: compiling SQL", ["django/db/models/sql/compiler.py:as_sql", "compiler.py:compile"]),
    ("ORM: building model instances", ["base.py:from_db", "compiler.py:results_iter", "query.py:__iter__"]),
    ("database driver (psycopg)", ["psycopg/"]),
    ("Redis client", ["redis/"]),
]


def profile(row: str, seconds: int) -> Path:
    env = prepare_environment({"API_RATE_LIMIT": "100000000/min"}, database="getitdone_bench_api")
    client_id, client_secret = bench_api.seed()
    server, base = bench_api.serve(env, "getitdone.wsgi:application", "getitdone.settings")
    out = bench_api.RESULTS / f"profile-{row}.txt"
    try:
        token = bench_api.token(base, client_id, client_secret)
        url, lua = {
            "get": (f"{base}/api/issues/", bench_api.script("GET", "/api/issues/")),
            "put": (f"{base}/api/issues/status/", bench_api.script("PUT", "/api/issues/status/", "W-")),
            "poll": (f"{base}/api/events?after=100&limit=100", None),
        }[row]
        bench_api.wrk(url, token, script=lua, seconds=3)  # warm up: imports, caches, connections
        if lua and "PUT" in lua:
            bench_api.reset_steps()
        spy = subprocess.Popen(
            [str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(server.pid), "--subprocesses", "--format", "raw",
             "--rate", "250", "--gil", "--duration", str(seconds), "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1)
        measured = bench_api.wrk(url, token, script=lua, seconds=seconds - 2)
        _, errors = spy.communicate(timeout=seconds + 30)
        if spy.returncode:
            raise SystemExit(f"py-spy failed: {errors}")
    finally:
        stop([server])
    print(f"\n{row}: {measured['rps']:.0f} req/s, p50 {measured['p50']:.2f} ms, p99 {measured['p99']:.2f} ms")
    summarize(out)
    return out


_FRAME = re.compile(r"([^;]+?) \(([^;]+?):\d+\)")


def summarize(path: Path) -> None:
    stages: collections.Counter[str] = collections.Counter()
    across: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.split(";", 2)[1].startswith("process "):
            continue  # the master's own samples: no request work
        n = int(count)
        total += n
        frames = ";".join(f"{file}:{func}" for func, file in _FRAME.findall(stack))
        stage = next((name for name, marks in STAGES if any(m in frames for m in marks)), "other")
        stages[stage] += n
        for name, marks in ACROSS:
            if any(m in frames for m in marks):
                across[name] += n
    print(f"  {total} samples on the CPU in the workers, by stage:")
    for name, n in stages.most_common():
        print(f"    {name:<34} {n / total:>6.1%}")
    print("  across stages:")
    for name, n in across.most_common():
        print(f"    {name:<34} {n / total:>6.1%}")
    print(f"  collapsed stacks: {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", choices=["get", "put", "poll"])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("PROFILE_SECONDS", "15")))
    parser.add_argument("--summarize", type=Path, help="only summarize stacks recorded before")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
    else:
        profile(args.row, args.seconds)
