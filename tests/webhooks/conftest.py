import json

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from webhooks.delivery import delivery_attempt
from webhooks.models import Delivery, DeliveryStatus


class Receiver:
    """Records what a real local HTTP server received, and verifies it independently."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.requests: list[Request] = []

    def url(self, path="/hook"):
        return self.server.url_for(path)

    def respond(self, *statuses, path="/hook", headers=None):
        """Answer the next requests with these statuses in turn (the last one repeats)."""
        statuses = list(statuses) or [200]

        def handler(request: Request) -> Response:
            self.requests.append(request)
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return Response(f"status {status}", status=status, headers=headers or {})

        self.server.expect_request(path, method="POST").respond_with_handler(handler)

    def verify(self, request: Request, secret: str) -> dict:
        return Webhook(secret).verify(request.get_data(), dict(request.headers))

    def bodies(self):
        return [json.loads(r.get_data()) for r in self.requests]


@pytest.fixture
def receiver(httpserver):
    return Receiver(httpserver)


def send_all_due(max_rounds=20):
    """What a worker does, run inline: attempt every pending delivery that is due."""
    outcomes = []
    for _ in range(max_rounds):
        due = list(Delivery.objects.filter(status=DeliveryStatus.PENDING).order_by("id").values_list("pk", flat=True))
        results = [delivery_attempt(pk) for pk in due]
        outcomes += results
        if not any(r in ("succeeded", "retry", "failed", "gone") for r in results):
            break
    return outcomes


def delivery_rows_read(*, analyze: bool = True) -> int:
    """Delivery rows this transaction has read so far (sequential and by index): what a query
    cost, read before and after it. `analyze`: refresh the planner's statistics first, as
    autovacuum would have."""
    from django.db import connection

    with connection.cursor() as cursor:
        if analyze:
            cursor.execute("ANALYZE webhooks_delivery")
        cursor.execute(
            "SELECT seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
            " WHERE relname = 'webhooks_delivery'"
        )
        return cursor.fetchone()[0]
