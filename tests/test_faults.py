"""The short version of `make faults`: the webhook worker and the command worker killed, Redis
stopped and PostgreSQL restarted under load, on a stack of their own (tests/faults/run.py)."""

import subprocess
import sys

import pytest

from tests.processes import ROOT


@pytest.mark.slow
def test_nothing_is_lost_when_workers_die_and_redis_and_postgresql_go_away():
    run = subprocess.run(
        [sys.executable, "tests/faults/run.py", "--short", "--drills", "worker,redis,postgres,commands"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert run.stdout.count("PASS") == 4
