"""Shared setup for the benchmarks: a database of their own, a broker DB of their own, worker
processes, and a fast receiver in its own process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.production_env import production_env

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "getitdone_bench"
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3")


def database_url(database: str = BENCH_DB) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    return base.rsplit("/", 1)[0] + "/" + database


def prepare_environment(
    extra: dict[str, str] | None = None, *, database: str = BENCH_DB, broker: str = BROKER
) -> dict[str, str]:
    """A fresh database, migrated, and an empty broker DB; returns the environment every process
    of the run uses (the benchmarks', or the fuzzer's server)."""
    import psycopg

    admin_url = database_url(database).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    env = dict(os.environ) | production_env()
    env.update(
        DATABASE_URL=database_url(database),
        CELERY_BROKER_URL=broker,
        WEBHOOKS_ALLOW_PRIVATE_URLS="true",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="getitdone.settings",
    )
    env.update(extra or {})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import redis

    redis.Redis.from_url(broker).flushdb()
    return env


def ping_pong_workflow(code: str, name: str):
    """Steps A ⇄ B: status changes can go on for as long as a benchmark or a drill runs."""
    from fulfillment.models import Step, StepCategory, Transition, Workflow

    workflow = Workflow.objects.create(code=code, name=name)
    a = Step.objects.create(workflow=workflow, name="A", value="A", category=StepCategory.TO_DO, position=0)
    b = Step.objects.create(workflow=workflow, name="B", value="B", category=StepCategory.IN_PROGRESS, position=1)
    Transition.objects.create(workflow=workflow, name="to B", from_step=a, to_step=b)
    Transition.objects.create(workflow=workflow, name="to A", from_step=b, to_step=a)
    workflow.initial_step = a
    workflow.save()
    return workflow


def procfile(name: str) -> str:
    """A process's command line as the Procfile runs it in production."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def start_procfile(env: dict[str, str], names: list[str]) -> list[subprocess.Popen]:
    """Processes exactly as the Procfile starts them (their logs at WARNING), with beat."""
    processes = []
    for name in [*names, "beat"]:
        command = procfile(name).replace("--loglevel INFO", "--loglevel WARNING")
        processes.append(
            subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=ROOT,
                env={**env, "GETITDONE_VAR_DIR": f"/tmp/getitdone-bench-{os.getpid()}",
                     "PATH": f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )  # fmt: skip
    time.sleep(4)  # let them connect
    return processes


def start_workers(env: dict[str, str], count: int, concurrency: int, queues: str) -> list[subprocess.Popen]:
    """`count` worker processes of `concurrency` threads on `queues`, with beat: for comparing
    other settings with the Procfile's."""
    processes = []
    for n in range(count):
        processes.append(
            subprocess.Popen(
                [str(ROOT / ".venv/bin/celery"), "-A", "getitdone", "worker", "-Q", queues, "-P", "threads",
                 "-c", str(concurrency), "-n", f"bench{n}@%h", "-l", "WARNING"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )  # fmt: skip
    return processes + start_procfile(env, [])


def start_bench_workers(
    env: dict[str, str], *, procfile_names: list[str], shown: str, queues: str, threads: int = 16
) -> tuple[list[subprocess.Popen], str]:
    """The Procfile's processes (production's defaults), or BENCH_PROCESSES thread-pool workers of
    BENCH_THREADS on `queues` to compare; with a line saying which ran."""
    processes = int(os.environ.get("BENCH_PROCESSES", "0"))
    if processes:
        threads = int(os.environ.get("BENCH_THREADS", threads))
        return start_workers(env, processes, threads, queues), f"{processes} worker process(es) × {threads} threads"
    return start_procfile(env, procfile_names), "Procfile: " + procfile(shown).split(" --loglevel")[0]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))
