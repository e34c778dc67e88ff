"""docs/quickstart.md, run as a partner would run it: its bash blocks in order, in one shell, and
its receiver.py, against a real server and a real Celery worker. Only the addresses and the
credentials are swapped for the test's."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, wait_for

DOC = ROOT / "docs" / "quickstart.md"
pytestmark = [pytest.mark.slow]


def _blocks() -> list[tuple[str, str]]:
    """Each fenced block as (its info string, its text), in order."""
    return [(m[1].strip(), m[2]) for m in re.finditer(r"^```([^\n]*)\n(.*?)^```$", DOC.read_text(), re.M | re.S)]


def test_the_quick_start_works_as_written(transactional_db, workers, delivery, integrator, live_server, tmp_path):
    blocks = _blocks()
    assert [info for info, _ in blocks] == ["bash", "python receiver.py", "bash", "bash", "text", "bash"]
    port = free_port()
    credentials = integrator._credentials

    def ours(text: str) -> str:
        return (text.replace("http://127.0.0.1:8000", live_server.url).replace("9000", str(port))
                .replace("CLIENT_ID=1 ", f"CLIENT_ID={credentials.client_id} ")
                .replace("demo-secret-change-me", credentials.client_secret))  # fmt: skip

    (tmp_path / "receiver.py").write_text(blocks[1][1])
    script = "set -euo pipefail\n" + "\n".join(ours(text) for info, text in blocks if info == "bash")
    workers.start()
    out = tmp_path / "out.log"
    with out.open("w") as log:
        shell = subprocess.Popen(
            ["bash", "-c", script + "\nwait"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{Path(ROOT) / '.venv/bin'}:{os.environ['PATH']}"}, start_new_session=True,
        )  # fmt: skip
    try:
        expected = blocks[4][1].splitlines()
        wait_for(lambda: all(line in out.read_text() for line in expected), timeout=30,
                 message="the receiver to print what the quick start says")  # fmt: skip
        text = out.read_text()
        assert '"code": 200' in text and '"next_after": 2' in text, text  # the feed's answer
        assert '"status":"success","message":"Created"' in text and "refused" not in text
        assert shell.poll() is None, text  # the receiver still serves: nothing in the script failed
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(timeout=10)
        time.sleep(0.2)
