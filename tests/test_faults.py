"""The short version of `make faults`: the webhook worker and the command worker killed, Redis
stopped and PostgreSQL restarted under load, on a stack of their own (tests/faults/run.py)."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.processes import ROOT


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("pg_createcluster") is None,
    reason="the drills create a PostgreSQL cluster of their own: root and pg_createcluster (postgresql-common)",
)
def test_nothing_is_lost_when_workers_die_and_redis_and_postgresql_go_away():
    # Its own time limit, well inside this one: on it, run.py takes its stack down before it exits.
    run = subprocess.Popen(
        [sys.executable, "tests/faults/run.py", "--short", "--drills", "worker,redis,postgres,commands",
         "--timeout", "540"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = run.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)  # not SIGKILL: that would leave its cluster and processes running
        stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stdout[-6000:] + stderr[-3000:]
    assert stdout.count("PASS") == 4
