"""What the drills run on, all real and all private to the run, so that a drill may kill or
restart any of it: a PostgreSQL cluster of its own (pg_createcluster), a Redis of its own,
gunicorn, the Celery workers and beat as the Procfile starts them, the receiver, and a DNS server
that answers one integrator's host names slowly."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.perf._harness import procfile
from tests.processes import PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "var" / "faults"
SLOW_DNS_SECONDS = 2.5  # under the 3 s connect timeout: slow, but the deliveries still go


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


class Postgres:
    """A cluster of the machine's PostgreSQL version, created for the run and dropped after it."""

    def __init__(self) -> None:
        self.version = max(os.listdir("/etc/postgresql"), key=lambda v: tuple(map(int, v.split("."))))
        self.name = "getitdone-faults"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/faults"

    def create(self) -> None:
        self.drop()  # a run interrupted before it could
        subprocess.run(
            ["pg_createcluster", self.version, self.name, "-p", str(self.port), "--start", "--", "--auth=trust"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                        "CREATE DATABASE faults"], check=True)  # fmt: skip

    def restart(self) -> float:
        """A fast restart, as an operator or a failover does it: sessions are cut. Returns how
        long it took."""
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", self.version, self.name, "restart", "-m", "fast"], check=True)
        return time.monotonic() - started

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)


class _Resolver(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        if name.endswith(".slow.test"):
            time.sleep(SLOW_DNS_SECONDS)
        if name.endswith(".test") and request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("127.0.0.1"), ttl=0))
        return reply


class SlowDns:
    """Port 53 on 127.0.0.1: `*.slow.test` answers after SLOW_DNS_SECONDS, other `*.test` at once.
    The webhook worker runs in a mount namespace whose /etc/resolv.conf names it."""

    def __init__(self) -> None:
        self.server = DNSServer(
            _Resolver(), address="127.0.0.1", port=53, logger=DNSLogger("-request,-reply,-truncated,-data,-recv,-send")
        )
        self.resolv_conf = LOGS / "resolv.conf"
        self.started = False

    def start(self) -> None:
        self.resolv_conf.write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:1\n")
        self.server.start_thread()
        self.started = True

    def stop(self) -> None:
        if self.started:  # the server's shutdown waits for a loop that never ran, otherwise
            self.server.stop()
            self.started = False


class App:
    """The Procfile's processes: web, worker (webhooks), commands and beat, each killable."""

    def __init__(self, env: dict[str, str], *, dns: SlowDns | None = None) -> None:
        self.env = env
        self.dns = dns
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        command = procfile(name).replace("$PORT", str(self.port))
        if name == "worker" and self.dns is not None:  # its host lookups go to the drills' DNS server
            command = (f"unshare --mount sh -c 'mount --bind {self.dns.resolv_conf} /etc/resolv.conf"
                       f" && exec {command}'")  # fmt: skip
        log = (LOGS / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**self.env, "PATH": f"{ROOT / '.venv/bin'}:{self.env.get('PATH', '')}"}, start_new_session=True,
        )  # fmt: skip
        if name == "web":
            _wait(self._serving, 60, "gunicorn")
        elif name in ("worker", "commands"):
            size = (LOGS / f"{name}.log").stat().st_size
            _wait(lambda: b" ready." in (LOGS / f"{name}.log").read_bytes()[size:], 60, f"the {name} worker")

    def _serving(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self, name: str) -> None:
        """SIGKILL, as when a machine dies: no warm shutdown, no acks."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("receiver.py")), str(self.port)])
        _wait(lambda: self._up(), 10, "the receiver")

    def _up(self) -> bool:
        try:
            return requests.get(self.url("/stats"), timeout=1).ok
        except requests.RequestException:
            return False

    def stats(self) -> dict[str, dict[str, list[list[float]]]]:
        return requests.get(self.url("/stats"), timeout=10).json()

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait()


class Redis(PrivateRedis):
    """The run's broker and cache, on a port of its own: stopped and started again on it."""


def in_background(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread
