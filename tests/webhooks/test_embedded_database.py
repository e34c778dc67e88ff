"""`make run`'s embedded defaults (SQLite, no Redis) deliver webhooks too: the claim and the
record have a SQLite form beside the PostgreSQL one, run here in a process of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from tests.production_env import production_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import django
django.setup()
from django.db import transaction
from fulfillment.services import integrator_create
from webhooks.delivery import deliveries_drain
from webhooks.models import Delivery
from webhooks.services import delivery_retry, publish, webhook_create

integrator = integrator_create(name="embedded").integrator
endpoint = webhook_create(integrator=integrator, url=sys.argv[1])
webhook_create(integrator=integrator, url="http://127.0.0.1:1/nothing-listens")
with transaction.atomic():
    publish(integrator, "webhook.test", {"n": 1})
sent = deliveries_drain()
fields = ("url", "status", "attempt_count", "attempts__http_status", "attempts__error")
rows = {row["url"]: row for row in Delivery.objects.values(*fields)}
# A manual retry of the refused one: an extra attempt, its automatic one left where it was.
refused = Delivery.objects.get(url="http://127.0.0.1:1/nothing-listens")
delivery_retry(delivery=refused)
retried = deliveries_drain()
after = Delivery.objects.get(pk=refused.pk)
retry = {
    "sent": retried,
    "counts": [after.status, after.attempt_count, after.manual_attempt_count],
    "same_time": after.next_attempt_at == refused.next_attempt_at,
    "attempts": list(after.attempts.values_list("number", "manual")),
}
print(json.dumps({"secret": endpoint.secret, "sent": sent, "rows": rows, "retry": retry}))
"""


def test_delivery_on_sqlite(httpserver, tmp_path):
    received = []

    def handler(request):
        received.append(request)
        return Response(status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env |= production_env()
    env.update(GETITDONE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="getitdone.settings", LOG_LEVEL="WARNING")
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    done = subprocess.run([sys.executable, "-c", SCRIPT, httpserver.url_for("/hook")], **run)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])

    assert outcome["sent"] == 2
    ok = outcome["rows"][httpserver.url_for("/hook")]
    refused = outcome["rows"]["http://127.0.0.1:1/nothing-listens"]
    assert (ok["status"], ok["attempt_count"], ok["attempts__http_status"]) == ("succeeded", 1, 204)
    assert (refused["status"], refused["attempt_count"], refused["attempts__http_status"]) == ("pending", 1, None)
    assert refused["attempts__error"].startswith("ConnectError")
    assert len(received) == 1
    retry = outcome["retry"]
    assert retry["sent"] == 1 and retry["counts"] == ["pending", 1, 1] and retry["same_time"]
    assert retry["attempts"] == [[1, False], [2, True]]
    payload = Webhook(outcome["secret"]).verify(received[0].get_data(), dict(received[0].headers))
    assert payload["type"] == "webhook.test" and payload["data"] == {"n": 1}
