"""Real processes for tests whose behaviour depends on them: a private Redis (so a test may stop
and restart the broker) and Celery workers (so a test may kill one)."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from tests.production_env import production_env

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_for(lambda: self._ping(client), timeout=10, message="redis-server")

    @staticmethod
    def _ping(client: redis.Redis) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Worker:
    """`celery -A getitdone worker` with embedded beat, on the test database and a given broker."""

    def __init__(self, broker_url: str, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.processes: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        env = dict(os.environ) | production_env()
        env.update(
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            CELERY_BROKER_URL=self.broker_url,
            DB_CONN_MAX_AGE="0",
            WEBHOOKS_RETRY_SCHEDULE="1,1,1,1",
            WEBHOOKS_SWEEP_INTERVAL="0.5",
            WEBHOOKS_LEASE_SECONDS="4",
            COMMANDS_LEASE_SECONDS="4",
            COMMANDS_REQUEUE_AFTER="2",
            COMMANDS_SWEEP_INTERVAL="0.5",
        )
        env.update(self.extra_env)
        return env

    def start(self, *, beat: bool = True, name: str | None = None) -> subprocess.Popen:
        n = len(self.processes)
        log = (self.log_dir / f"worker-{n}.log").open("wb")
        cmd = [
            str(CELERY), "-A", "getitdone", "worker", "-Q", "webhooks,commands,default",
            "-P", "threads", "-c", "4", "-n", name or f"test{n}@%h", "-l", "INFO",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if beat:
            cmd += ["-B", "-s", str(self.log_dir / f"beat-{n}")]
        process = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes.append(process)
        wait_for(lambda: b"ready." in (self.log_dir / f"worker-{n}.log").read_bytes(), timeout=60,
                 message="the worker to be ready")  # fmt: skip
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL: no warm shutdown, no acks, as when a machine dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(private_redis):
    """Point this process's Celery publisher at the private Redis for the test."""
    from getitdone.celery import app

    saved = app.conf.broker_url

    def repoint(url):
        app.conf.broker_url = url
        app.conf.broker_write_url = None
        app._pool = None
        app.amqp._producer_pool = None

    repoint(private_redis.url)
    yield private_redis
    repoint(saved)


@pytest.fixture
def workers(transactional_db, broker, tmp_path):
    pool = Worker(broker.url, tmp_path)
    yield pool
    pool.stop_all()
