"""Data migrations, run forward on rows written under the schema before them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from fulfillment.services import integrator_create

BEFORE = ("webhooks", "0008_drop_delivery_due_order_index")
AFTER = ("webhooks", "0009_delivery_readiness")


@pytest.mark.django_db(transaction=True)
def test_pending_deliveries_get_their_readiness():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    Event = apps.get_model("webhooks", "Event")
    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    Delivery = apps.get_model("webhooks", "Delivery")
    integrator_id = integrator_create(name="migrated").integrator.pk
    event = Event.objects.create(integrator_id=integrator_id, type="webhook.test", api_version="1", data={})
    active = Endpoint.objects.create(integrator_id=integrator_id, url="https://on.example/h", secret="whsec_a")
    inactive = Endpoint.objects.create(
        integrator_id=integrator_id, url="https://off.example/h", secret="whsec_b", is_active=False
    )
    now = timezone.now()

    def delivery(endpoint, status="pending", next_attempt_at=now):
        return Delivery.objects.create(
            event=event, integrator_id=integrator_id, endpoint=endpoint, url="https://x.example/h",
            status=status, next_attempt_at=next_attempt_at,
        ).pk  # fmt: skip

    expected = {
        delivery(active): "ready",
        delivery(None, next_attempt_at=now - timedelta(seconds=5)): "ready",  # an issue's own URL
        delivery(active, next_attempt_at=now + timedelta(hours=1)): "waiting",
        delivery(inactive, next_attempt_at=now + timedelta(hours=1)): "paused",
        delivery(active, status="succeeded", next_attempt_at=None): "ready",
    }

    executor = MigrationExecutor(connection)
    executor.migrate([AFTER])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, readiness FROM webhooks_delivery")
        assert dict(cursor.fetchall()) == expected
