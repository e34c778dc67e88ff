"""`make faults`: the delivery and command drills on a real stack of their own.

A PostgreSQL cluster and a Redis created for the run, gunicorn, the webhook and command workers
and beat as the Procfile starts them, a local receiver and a DNS server. One table per drill;
exit status 1 if any drill missed its target (0 lost, every status change with exactly its
event, each command run once and in order per issue). `--short` is the version `make test` runs.

    python tests/faults/run.py [--short] [--drills worker,redis,postgres,commands,receivers,dns] [--timeout S]

Needs root: pg_createcluster, and for the dns drill port 53 and a mount namespace (unshare).
"""

import argparse
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
import requests  # noqa: E402

from tests.faults import drills  # noqa: E402
from tests.faults.stack import LOGS, App, Postgres, Receiver, Redis, SlowDns  # noqa: E402
from tests.perf._harness import ping_pong_workflow  # noqa: E402
from tests.production_env import production_env  # noqa: E402

DRILLS = ("worker", "redis", "postgres", "commands", "receivers", "dns")
# Short schedules, so that a drill sees its retries, leases and sweeps within seconds.
SETTINGS = {
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
    "API_RATE_LIMIT": "1000000/min",
    "WEBHOOKS_RETRY_SCHEDULE": "1,2,2,3,3,5,5,8",
    "WEBHOOKS_TIMEOUT_SECONDS": "2",
    "WEBHOOKS_LEASE_SECONDS": "10",
    "WEBHOOKS_SWEEP_INTERVAL": "1",
    "COMMANDS_SWEEP_INTERVAL": "1",
    "COMMANDS_LEASE_SECONDS": "5",
    "COMMANDS_REQUEUE_AFTER": "2",
}


def _tenant(app: App, name: str, urls: list[str]) -> drills.Tenant:
    from fulfillment.services import integrator_create
    from webhooks.services import webhook_create

    credentials = integrator_create(name=f"drill {name}")
    for url in urls:
        webhook_create(integrator=credentials.integrator, url=url)
    session = requests.Session()
    answer = session.post(
        f"{app.base}/oauth/token", timeout=10,
        data={"grant_type": "client_credentials", "client_id": credentials.client_id,
              "client_secret": credentials.client_secret},
    )  # fmt: skip
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    paths = ["/" + url.split("/", 3)[3] for url in urls]
    return drills.Tenant(name, credentials.integrator.pk, session, app.base, paths)


def _drill(name: str, app: App, postgres: Postgres, redis: Redis, receiver: Receiver, *, short: bool):
    """The drill called `name`, with its tenants made and its size chosen."""
    ok = receiver.url("/ok/{}")
    if name == "worker":
        tenant = _tenant(app, name, [ok.format(name)])
        return partial(drills.drill_webhook_worker_killed, app, receiver, tenant, 300 if short else 2000)
    if name == "redis":
        tenant = _tenant(app, name, [ok.format(name)])
        return partial(drills.drill_redis_stopped, app, redis, receiver, tenant, 8 if short else 30)
    if name == "postgres":
        tenant = _tenant(app, name, [ok.format(name)])
        return partial(drills.drill_postgres_restarted, app, postgres, receiver, tenant)
    if name == "commands":
        tenant = _tenant(app, name, [ok.format(name)])
        return partial(drills.drill_command_worker_killed, app, receiver, tenant, 100 if short else 300)
    if name == "receivers":
        tenants = {
            kind: _tenant(app, kind, [receiver.url(f"/{kind}/{kind}")]) for kind in ("flaky", "hang", "throttle")
        }
        tenants["gone"] = _tenant(app, "gone", [receiver.url("/gone/gone"), ok.format("gone-other")])
        return partial(drills.drill_receivers, receiver, tenants, 10 if short else 50)
    hosts = [f"h{n}.slow.test" for n in range(6)]  # more than its 4 lookups at a time
    slow = _tenant(app, "slow", [receiver.url(f"/ok/slow{n}", host) for n, host in enumerate(hosts)])
    fast = _tenant(app, "fast", [receiver.url("/ok/fast", "hooks.fast.test")])
    return partial(drills.drill_slow_dns, receiver, slow, fast, 20 if short else 60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="smaller loads and a shorter outage (make test)")
    parser.add_argument("--drills", default=",".join(DRILLS), help=f"a comma list of {', '.join(DRILLS)}")
    parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds (default 1800)")
    args = parser.parse_args()
    chosen = [d.strip() for d in args.drills.split(",") if d.strip()]
    unknown = set(chosen) - set(DRILLS)
    if unknown:
        parser.error(f"unknown drills: {', '.join(sorted(unknown))}")
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()

    # Interrupted or out of time: the finally below takes the stack down (a SIGKILL would leave it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGALRM, lambda *_: sys.exit(f"gave up after {args.timeout} s (--timeout)"))
    signal.alarm(args.timeout)
    postgres, redis, receiver = Postgres(), Redis(), Receiver()
    dns = SlowDns() if "dns" in chosen else None  # port 53 and a mount namespace: only when it is needed
    app: App | None = None
    outcomes = []
    started = time.monotonic()
    try:
        postgres.create()
        redis.start()
        receiver.start()
        if dns is not None:
            dns.start()
        env = dict(os.environ) | production_env() | SETTINGS
        env.update(
            DATABASE_URL=postgres.url,
            CELERY_BROKER_URL=redis.url,
            CACHE_URL=redis.url.rsplit("/", 1)[0] + "/1",
            GETITDONE_VAR_DIR=str(LOGS / "var"),
            DJANGO_SETTINGS_MODULE="getitdone.settings",
        )
        os.environ.update(env)
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ping_pong_workflow("drill", "Drill")
        app = App(env, dns=dns)
        for name in ("web", "worker", "commands", "beat"):
            app.start(name)
        print(
            f"stack: PostgreSQL {postgres.version} on :{postgres.port}, Redis on :{redis.port}, gunicorn on"
            f" :{app.port}, webhook + command workers and beat (Procfile), receiver on :{receiver.port}"
        )
        for name in chosen:
            outcome = drills.run(name, _drill(name, app, postgres, redis, receiver, short=args.short))
            outcomes.append(outcome)
    finally:
        if app is not None:
            app.stop()
        from django.db import connections

        connections.close_all()
        if dns is not None:
            dns.stop()
        receiver.stop()
        redis.stop()
        postgres.drop()
    failed = [o.title for o in outcomes if o.failures]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} drills passed in {time.monotonic() - started:.0f} s"
          f" (process logs in {LOGS.relative_to(ROOT)}/)")  # fmt: skip
    return 1 if failed or len(outcomes) < len(chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
