"""schemathesis against a real server: gunicorn on a database of its own, seeded with real objects
through the API, then `schemathesis run <base>/api/schema/ --checks all` with its coverage,
fuzzing and stateful phases. Exits with schemathesis's status.

    python tests/fuzz/run.py --max-examples 300 --max-time 540   # make fuzz
    python tests/fuzz/run.py --max-examples 15 --seed 1          # the bounded run in make test
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf._harness import prepare_environment, stop  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = ROOT / "var" / "fuzz"
FUZZ_DB = "getitdone_fuzz"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    # The Procfile's gunicorn, with no limit on the request line: past gunicorn's 4 KiB it would
    # answer an HTML 414 itself, and the fuzzer's long repeated query strings would report that.
    log = open(OUT / "gunicorn.log", "w")  # noqa: SIM115  (kept open for the server's life)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "getitdone.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--limit-request-line", "0", "--access-logfile", str(OUT / "access.log")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return server
        except requests.RequestException:  # not listening, or still loading the app
            time.sleep(0.2)
    stop([server])
    raise SystemExit(f"gunicorn did not start: see {OUT / 'gunicorn.log'}")


def seed(env: dict[str, str], base: str) -> dict[str, object]:
    """An integrator and one of each object, made as an integrator makes them; their ids."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "seed_workflows", "-v", "0"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    made = subprocess.run(
        [*manage, "create_integrator", "--name", "Fuzz", "--json"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    credentials = json.loads(made.stdout)
    token = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": credentials["client_id"],
              "client_secret": credentials["client_secret"]},
    ).json()["access_token"]  # fmt: skip
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    def data(response: requests.Response) -> dict:
        assert response.ok, (response.status_code, response.text[:300])
        return response.json()["data"]

    family = {"client_issue_id": "fuzz-1", "details": {"customer": "x"}, "children": [{"details": {"n": 1}}, {}]}
    issue = data(api.post(f"{base}/api/issues", json=family))
    webhook = data(api.post(f"{base}/api/webhooks", json={"url": "http://127.0.0.1:9/hook"}))
    delivery = data(api.post(f"{base}/api/webhooks/{webhook['id']}/test"))
    upload = {"file": ("proof.txt", b"delivered\n", "text/plain")}
    file = data(api.post(f"{base}/api/issues/fuzz-1/files", files=upload, data={"kind": "photo"}))
    note = {"type": "AddNote", "client_issue_id": "fuzz-1", "text": "hi"}
    command = data(api.post(f"{base}/api/commands", json=note))
    event = data(api.get(f"{base}/api/events?limit=1"))["results"][0]
    return {
        "token": token, "issue": issue["client_issue_id"], "workflow_id": issue["workflow_id"],
        "webhook": webhook["id"], "delivery": delivery["id"], "file": file["id"], "command": command["id"],
        "event": event["id"],
    }  # fmt: skip


def write_config(ids: dict[str, object]) -> Path:
    text = (HERE / "schemathesis.toml").read_text()
    for key, value in {**ids, "hooks": HERE / "schemathesis_hooks.py"}.items():
        text = text.replace("{" + key + "}", str(value))
    path = OUT / "schemathesis.toml"
    path.write_text(text)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=300, help="per operation and phase (default 300)")
    parser.add_argument("--max-time", type=int, help="seconds to keep fuzzing and stateful testing going")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: random)")
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = prepare_environment(
        {
            "DEBUG": "false",
            "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",  # the public-address rule cannot be told in a schema
            "CACHE_URL": os.environ.get("FUZZ_CACHE_URL", "redis://127.0.0.1:6379/7"),
            "API_RATE_LIMIT": "1000000/min",
            "API_ANONYMOUS_RATE_LIMIT": "1000000",
            "GETITDONE_VAR_DIR": str(OUT / "state"),
        },
        database=FUZZ_DB,
        broker=os.environ.get("FUZZ_BROKER_URL", "redis://127.0.0.1:6379/8"),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        ids = seed(env, base)
        config = write_config(ids)
        command = [
            str(BIN / "schemathesis"), "--config-file", str(config), "run", f"{base}/api/schema/", "--checks", "all",
            "--phases", "coverage,fuzzing,stateful", "--max-examples", str(args.max_examples), "--no-color",
            "--report", "junit", "--report-dir", str(OUT / "report"),
        ]  # fmt: skip
        if args.max_time:
            command += ["--max-time", str(args.max_time)]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        print("$", " ".join(command), flush=True)
        # From var/fuzz: schemathesis and hypothesis keep their databases in the working directory.
        return subprocess.run(command, cwd=OUT, env={**env, "FUZZ_TOKEN": str(ids["token"])}).returncode
    finally:
        stop([server])


if __name__ == "__main__":
    raise SystemExit(main())
