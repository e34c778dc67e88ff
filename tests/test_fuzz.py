"""The bounded schemathesis run (`make fuzz` is the long one): a real gunicorn on a database of
its own, every check, the coverage, fuzzing and stateful phases (tests/fuzz/run.py)."""

import subprocess
import sys

import pytest

from tests.processes import ROOT


@pytest.mark.slow
def test_schemathesis_finds_nothing():
    run = subprocess.run(
        [sys.executable, "tests/fuzz/run.py", "--max-examples", "15", "--seed", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    summary = run.stdout[run.stdout.rfind("SUMMARY") - 40 :] if "SUMMARY" in run.stdout else run.stdout[-4000:]
    assert run.returncode == 0, summary + run.stderr[-2000:]
