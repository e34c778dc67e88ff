"""`make run` on embedded defaults: starts, prints demo credentials that work, stops on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_serves_the_demo(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "PROMETHEUS_MULTIPROC_DIR")}  # fmt: skip
    env.update(PORT=str(port), GETITDONE_VAR_DIR=str(tmp_path / "var"))
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("make run did not answer /healthz in time:\n" + log.read_text())

        # Both workers and beat up, and the welcome printed (once web answers)...
        deadline = time.monotonic() + 60
        up = ("webhooks@", "commands@", "beat: started", "Ctrl-C stops everything.")  # the last, the welcome's
        while not all(s in log.read_text() for s in up):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        settled = log.read_text()
        time.sleep(6)  # ...then idle: beat's sweeps run three times meanwhile, and must say nothing
        text = log.read_text()
        assert text == settled, "lines while idle:\n" + text[len(settled) :]
        assert settled.rstrip().endswith("Ctrl-C stops everything."), settled[-2000:]  # the welcome stays last
        client_id = re.search(r"client_id\s+(\S+)", text).group(1)
        client_secret = re.search(r"client_secret\s+(\S+)", text).group(1)
        token = requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        assert token.json()["token_type"] == "Bearer"
        # The commands worker runs commands off the embedded broker against the embedded database.
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for n in range(3):
            sent = requests.post(
                f"{base}/api/commands", json={"type": "CreateIssue", "client_issue_id": f"run-{n}"}, headers=auth,
                timeout=10,
            )  # fmt: skip
            assert sent.status_code == 202, sent.text

        def created() -> bool:
            return all(
                requests.get(f"{base}/api/issues/run-{n}", headers=auth, timeout=10).status_code == 200
                for n in range(3)
            )

        deadline = time.monotonic() + 60
        while not created():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert "Traceback" not in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Ctrl-C stopped every process of the group.
    time.sleep(1)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
