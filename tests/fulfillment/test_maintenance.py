"""The maintenance switch: one service flips it, and every process obeys within a few seconds,
even with `make run`'s default per-process cache (locmem), where a flip cannot be forgotten in
the other processes' caches and has to outlast them."""

import os
import signal
import subprocess
import time

import pytest
import requests
from django.db import connection

from fulfillment.models import MaintenanceMode
from fulfillment.selectors import MAINTENANCE_CACHE_SECONDS, maintenance_state
from fulfillment.services import maintenance_set
from getitdone.errors import InvalidInput
from tests.processes import ROOT, free_port, wait_for
from tests.production_env import production_env


@pytest.mark.django_db
def test_maintenance_set_flips_the_switch_with_its_message_and_retry_after(auth_client):
    switch = maintenance_set(enabled=True, message="  Back at 10:00.  ", retry_after=90)
    assert (switch.enabled, switch.message, switch.retry_after) == (True, "Back at 10:00.", 90)
    assert maintenance_state().enabled
    response = auth_client.get("/api/workflows")
    assert response.status_code == 503 and response["Retry-After"] == "90"
    assert response.json()["error"][0]["message"] == "Back at 10:00."
    maintenance_set(enabled=False, message="", retry_after=90)
    assert auth_client.get("/api/workflows").status_code == 200
    assert MaintenanceMode.objects.get().message == "Scheduled maintenance in progress."  # blank: the default


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"), [({"retry_after": 0}, "retry_after"), ({"retry_after": 86401}, "retry_after"),
                           ({"message": "x" * 301}, "message")],
)  # fmt: skip
def test_maintenance_set_refuses_what_clients_could_not_use(changes, field):
    with pytest.raises(InvalidInput) as refused:
        maintenance_set(**({"enabled": True, "message": "", "retry_after": 60} | changes))
    assert refused.value.field == field and not MaintenanceMode.objects.exists()


def _web(env: dict[str, str], port: int, log) -> subprocess.Popen:
    """Two gunicorn workers, as the Procfile starts web: two processes, two caches."""
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "getitdone.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "2", "--threads", "2"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _statuses(base: str, n: int) -> set[int]:
    # A new connection each time, so the requests spread over both workers.
    return {requests.get(f"{base}/api/workflows", timeout=5, headers={"Connection": "close"}).status_code
            for _ in range(n)}  # fmt: skip


def _seconds_until_all(base: str, status: int, limit: float) -> float:
    start, seen = time.monotonic(), set()
    while time.monotonic() - start < limit:
        seen = _statuses(base, 12)
        if seen == {status}:
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"not every process answered {status} within {limit} s (last answers: {sorted(seen)})")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_process_sees_a_flip_within_seconds_with_a_per_process_cache(tmp_path):
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"} | production_env()  # locmem, as `make run`
    env.update(DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", DB_CONN_MAX_AGE="0")
    # Its probes carry no token: past 120 a minute a worker would answer 429, not the status watched.
    env.update(API_ANONYMOUS_RATE_LIMIT="100000")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "web.log").open("wb") as log:
        web = _web(env, port, log)
    try:
        wait_for(lambda: _up(base), timeout=60, message="gunicorn")
        assert _statuses(base, 20) == {401}  # both workers have cached "off"

        maintenance_set(enabled=True, message="", retry_after=30)
        assert _seconds_until_all(base, 503, MAINTENANCE_CACHE_SECONDS + 6) <= MAINTENANCE_CACHE_SECONDS + 3

        maintenance_set(enabled=False, message="", retry_after=30)
        assert _seconds_until_all(base, 401, MAINTENANCE_CACHE_SECONDS + 6) <= MAINTENANCE_CACHE_SECONDS + 3
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=20)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
