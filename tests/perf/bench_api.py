"""API hot paths against their floors (issue 14), measured from outside with wrk.

Our app and the floor app (tests/perf/floor: the same work in raw SQL inside a tiny Django/DRF
app) are served by gunicorn with the Procfile's web settings, over 3,000 issues with a child
each and 3,000 without (see seed) in a database of their own. Each row runs wrk (2 threads,
8 connections, BENCH_SECONDS each); a floor and our endpoint run side by side, in 3
alternating rounds, and the ratio is the median of the rounds' ratios (req/s ours / req/s
floor), so the machine's speed cancels out.
A run is saved as JSON under var/bench/ and compared with the previous one.

    make bench            # every benchmark
    .venv/bin/python tests/perf/bench_api.py   # this one (with make test's environment)
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf._harness import ping_pong_workflow, prepare_environment, procfile, stop  # noqa: E402
from tests.processes import free_port, wait_for  # noqa: E402

ISSUES = int(os.environ.get("BENCH_ISSUES", "3000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RESULTS = ROOT / "var" / "bench"

# Requests spread over the issues: request k names issue k mod N, and a PUT asks for the step
# the issue is not in on that pass (the bench workflow's two steps lead to each other, and every
# issue is put back in A before a PUT row), so every PUT changes something, for the floor and for
# us alike.
_LUA = """
counter = 0
offset = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads - 1)
end
function init(args)
  counter = 0
end
function request()
  local k = offset + counter * 2  -- wrk -t2: two threads take turns
  counter = counter + 1
  local n = k %% %(issues)d
  local pass = math.floor(k / %(issues)d) %% 2
  local target = (pass == 0) and "B" or "A"
  %(body)s
end
"""
_GET = 'return wrk.format("GET", "%(path)s" .. "%(prefix)s" .. n)'
# nil headers: wrk's own (-H), which a table given here would replace.
_PUT = 'return wrk.format("PUT", "%(path)s" .. "%(prefix)s" .. n, nil, \'{"status": "\' .. target .. \'"}\')'


def seed(integrator_name: str = "bench") -> tuple[str, str]:
    """The bench workflow (A ⇄ B), an integrator, ISSUES issues with a child each (B-n) and
    ISSUES without (W-n): the floor write moves one issue, so the PUT row it is compared with
    moves W-n; moving B-n (its child follows: twice the writes) is a row of its own."""
    import django

    django.setup()
    from fulfillment.services import integrator_create
    from orders.services import Actor, ChildSpec, issue_create

    ping_pong_workflow("bench", "Bench")
    credentials = integrator_create(name=integrator_name)
    for n in range(ISSUES):
        issue_create(
            integrator=credentials.integrator, client_issue_id=f"B-{n}", actor=Actor.system(), workflow="bench",
            details={"customer": {"name": f"Cliente {n}"}, "items": [{"sku": "X", "qty": 1}]},
            children=[ChildSpec(details={"box": 1})],
        )  # fmt: skip
        issue_create(
            integrator=credentials.integrator, client_issue_id=f"W-{n}", actor=Actor.system(), workflow="bench",
            details={"customer": {"name": f"Cliente {n}"}, "items": [{"sku": "X", "qty": 1}]},
        )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # plans as on a live database, not on tables autovacuum has not seen yet
    return credentials.client_id, credentials.client_secret


def reset_steps() -> None:
    """Every bench issue back in step A, so that a PUT row's requests (B on the first pass over
    the issues, A on the next) each change something, whatever the rows before it did."""
    from orders.models import Issue

    Issue.objects.filter(workflow__code="bench").update(
        step=Issue.objects.filter(workflow__code="bench").values("workflow__initial_step")[:1]
    )


def serve(env: dict[str, str], wsgi: str, settings_module: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = procfile("web").replace("$PORT", str(port)).replace("getitdone.wsgi:application", wsgi)
    RESULTS.mkdir(parents=True, exist_ok=True)
    errors = (RESULTS / f"{wsgi.split('.')[-2]}-server.log").open("w")  # its errors, to read when a row fails
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module, "PATH": f"{ROOT / '.venv/bin'}:{env['PATH']}"},
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            requests.get(f"{base}/healthz", timeout=5)  # any answer: it serves
        except requests.RequestException:
            return False
        return True

    wait_for(up, timeout=60, message=wsgi)
    return process, base


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def token(base: str, client_id: str, client_secret: str) -> str:
    answer = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        timeout=10,
    )
    return answer.json()["access_token"]


def wrk(url: str, token: str, *, script: str | None = None, seconds: int = SECONDS) -> dict[str, float]:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}",
               "-H", "Content-Type: application/json"]  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
    if script:
        command += ["-s", lua.name]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(non_2xx.group(1)) if non_2xx else 0
    if failed > total / 200:  # a stray one may be a lock timeout under load; more is a broken row
        sample = requests.request(
            "PUT" if script and "PUT" in script else "GET", f"{url}B-1" if script else url,
            headers={"Authorization": f"Bearer {token}"}, json={"status": "A"}, timeout=10,
        )  # fmt: skip
        answer = f"{sample.status_code} {sample.text[:500]}"
        raise SystemExit(f"{url}: {failed} of {total} answers were not 2xx:\n{out}\none of them: {answer}")
    latency = {q: float(v) * _UNITS[u] for q, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency["50"],
            "p99": latency["99"], "non_2xx": failed}  # fmt: skip


def script(kind: str, path: str, prefix: str = "B-") -> str:
    body = (_GET if kind == "GET" else _PUT) % {"path": path, "prefix": prefix}
    return _LUA % {"issues": ISSUES, "body": body}


def main() -> None:
    env = prepare_environment({"API_RATE_LIMIT": "100000000/min"}, database="getitdone_bench_api")
    client_id, client_secret = seed()
    servers: list[subprocess.Popen] = []
    try:
        ours, ours_base = serve(env, "getitdone.wsgi:application", "getitdone.settings")
        servers.append(ours)
        floor, floor_base = serve(env, "tests.perf.floor.wsgi:application", "tests.perf.floor.settings")
        servers.append(floor)
        bearer = token(ours_base, client_id, client_secret)
        rows = {
            "trivial DRF GET (no database)": (f"{floor_base}/trivial", None),
            "floor read": (f"{floor_base}/floor/issues/", script("GET", "/floor/issues/")),
            "GET /api/issues/{id}": (f"{ours_base}/api/issues/", script("GET", "/api/issues/")),
            "floor write": (f"{floor_base}/floor/issues/status/", script("PUT", "/floor/issues/status/", "W-")),
            "PUT /api/issues/status/{id}": (
                f"{ours_base}/api/issues/status/",
                script("PUT", "/api/issues/status/", "W-"),
            ),
            "PUT status, the child follows": (f"{ours_base}/api/issues/status/", script("PUT", "/api/issues/status/")),
            "floor poll": (f"{floor_base}/floor/events?after=100&limit=100", None),
            "GET /api/events?after=…&limit=100": (f"{ours_base}/api/events?after=100&limit=100", None),
            "GET /api/issues?limit=50": (f"{ours_base}/api/issues?limit=50", None),
        }
        pairs = {
            "GET issue / floor read": ("GET /api/issues/{id}", "floor read", 0.5),
            "PUT status / floor write": ("PUT /api/issues/status/{id}", "floor write", 0.6),
            "poll / floor poll": ("GET /api/events?after=…&limit=100", "floor poll", 0.5),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in rows}
        for _round in range(ROUNDS):  # alternating: each floor next to its endpoint, every round
            for name, (url, lua) in rows.items():
                if lua and "PUT" in lua:
                    reset_steps()
                runs[name].append(wrk(url, bearer, script=lua))
    finally:
        stop(servers)

    print(f"\nAPI hot paths: wrk -t2 -c8, {SECONDS} s a row, {ROUNDS} rounds, {ISSUES} issues; medians of rounds")
    print(f"  {'row':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    summary = {}
    for name, measured in runs.items():
        row = {k: statistics.median(m[k] for m in measured) for k in ("rps", "p50", "p99")}
        row["non_2xx"] = sum(m["non_2xx"] for m in measured)
        summary[name] = row
        print(f"  {name:<36} {row['rps']:>8.0f} {row['p50']:>8.2f} {row['p99']:>8.2f} {row['non_2xx']:>8}")
    ratios = {}
    print(f"\n  {'ratio (median of rounds)':<36} {'value':>8} {'target':>8}")
    for label, (ours_name, floor_name, target) in pairs.items():
        ratio = statistics.median(o["rps"] / f["rps"] for o, f in zip(runs[ours_name], runs[floor_name], strict=True))
        ratios[label] = ratio
        print(f"  {label:<36} {ratio:>8.2f} {'≥ ' + str(target):>8}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = sorted(RESULTS.glob("api-*.json"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"at": stamp, "seconds": SECONDS, "rounds": ROUNDS, "issues": ISSUES, "rows": summary, "ratios": ratios,
              "runs": runs}  # fmt: skip
    (RESULTS / f"api-{stamp}.json").write_text(json.dumps(record, indent=2))
    if previous:
        before = json.loads(previous[-1].read_text())
        print(f"\n  against the previous run ({before['at']}):")
        for label, ratio in ratios.items():
            old = before["ratios"].get(label)
            if old:
                print(f"  {label:<36} {old:>8.2f} → {ratio:.2f}")
    print(f"\n  saved var/bench/api-{stamp}.json")


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"  ({time.monotonic() - start:.0f} s)")
