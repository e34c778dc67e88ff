"""The floors. Each does, correctly and in as few round trips as it can, what our endpoint does:
the bearer token looked up by its sha256 with its expiry, a rate-limit count in Redis (one round
trip), then the work."""

import hashlib
import json
import uuid

import redis
from django.conf import settings
from django.db import connection, transaction
from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

_redis = redis.Redis.from_url(settings.REDIS_URL)

_TOKEN_SQL = """
SELECT i.id FROM oauth2_provider_accesstoken t
JOIN fulfillment_integrator i ON i.application_id = t.application_id
WHERE t.token_checksum = %s AND t.expires > now() AND i.is_active
"""
# The issue with its step and its children, as one JSON document, in one query.
_ISSUE_SQL = """
SELECT json_build_object(
    'id', i.id, 'client_issue_id', i.client_issue_id, 'workflow_id', i.workflow_id, 'parent_issue_id', NULL,
    'step_id', i.step_id,
    'step', json_build_object('id', s.id, 'name', s.name, 'value', s.value, 'category', s.category),
    'webhook_url', NULLIF(i.webhook_url, ''), 'details', i.details, 'version', i.version,
    'created_at', i.created_at, 'updated_at', i.updated_at,
    'children', COALESCE((SELECT json_agg(json_build_object('id', c.id, 'step_id', c.step_id, 'version', c.version,
                                                            'details', c.details) ORDER BY c.id)
                          FROM orders_issue c WHERE c.parent_id = i.id), '[]'::json))
FROM orders_issue i JOIN fulfillment_step s ON s.id = i.step_id
WHERE i.integrator_id = %s AND i.client_issue_id = %s AND i.parent_id IS NULL
"""


def _caller(request: Request) -> int | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Bearer "):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [hashlib.sha256(header[7:].encode()).hexdigest()])
        row = cursor.fetchone()
    if row is None:
        return None
    key = f"floor:rate:{row[0]}"
    pipe = _redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, 60, nx=True)
    count, _ = pipe.execute()
    return row[0] if count < 10**9 else None


def _issue(cursor, integrator_id: int, client_issue_id: str):
    cursor.execute(_ISSUE_SQL, [integrator_id, client_issue_id])
    row = cursor.fetchone()
    return row[0] if row else None


@api_view(["GET"])
def trivial(request: Request) -> Response:
    return Response({"data": {"ok": True}})


@api_view(["GET"])
def read(request: Request, client_issue_id: str) -> Response:
    integrator_id = _caller(request)
    if integrator_id is None:
        return Response({"error": "unauthorized"}, status=401)
    with connection.cursor() as cursor:
        issue = _issue(cursor, integrator_id, client_issue_id)
    if issue is None:
        return Response({"error": "not found"}, status=404)
    return Response({"data": json.loads(issue) if isinstance(issue, str) else issue})


@api_view(["PUT"])
def write(request: Request, client_issue_id: str) -> Response:
    integrator_id = _caller(request)
    if integrator_id is None:
        return Response({"error": "unauthorized"}, status=401)
    status = request.data.get("status")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, step_id, workflow_id FROM orders_issue WHERE integrator_id = %s AND client_issue_id = %s "
            "AND parent_id IS NULL FOR UPDATE",
            [integrator_id, client_issue_id],
        )
        row = cursor.fetchone()
        if row is None:
            return Response({"error": "not found"}, status=404)
        issue_id, from_step, workflow_id = row
        cursor.execute(
            "SELECT t.id, t.to_step_id FROM fulfillment_transition t JOIN fulfillment_step s ON s.id = t.to_step_id "
            "WHERE t.from_step_id = %s AND s.workflow_id = %s AND s.value = %s",
            [from_step, workflow_id, status],
        )
        transition = cursor.fetchone()
        if transition is None:
            return Response({"error": "transition not allowed"}, status=400)
        cursor.execute(
            "UPDATE orders_issue SET step_id = %s, version = version + 1, step_entered_at = now(), "
            "updated_at = now() WHERE id = %s",
            [transition[1], issue_id],
        )
        cursor.execute(
            "INSERT INTO orders_statuschange (issue_id, from_step_id, to_step_id, transition_id, at, actor_type, "
            "actor_id, note, forced) VALUES (%s, %s, %s, %s, now(), 'integrator', %s, '', false)",
            [issue_id, from_step, transition[1], transition[0], str(integrator_id)],
        )
        issue = _issue(cursor, integrator_id, client_issue_id)
        cursor.execute(
            "UPDATE webhooks_eventsequence SET last_value = last_value + 1 WHERE integrator_id = %s "
            "RETURNING last_value",
            [integrator_id],
        )
        sequence = cursor.fetchone()[0]
        data = json.dumps({"issue": issue if isinstance(issue, dict) else json.loads(issue)}, default=str)
        cursor.execute(
            "INSERT INTO webhooks_event (id, integrator_id, type, sequence, api_version, data, issue_id, created_at) "
            "VALUES (%s, %s, 'issue.status_changed', %s, '1', %s, %s, now())",
            [f"evt_{uuid.uuid4().hex}", integrator_id, sequence, data, issue_id],
        )
    return Response({"data": json.loads(data)["issue"]})


@api_view(["GET"])
def poll(request: Request) -> Response:
    integrator_id = _caller(request)
    if integrator_id is None:
        return Response({"error": "unauthorized"}, status=401)
    after = int(request.query_params.get("after", 0))
    limit = min(int(request.query_params.get("limit", 100)), 500)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(json_agg(e ORDER BY e.sequence), '[]'::json) FROM ("
            "SELECT id, type, sequence, api_version, created_at AS timestamp, data FROM webhooks_event "
            "WHERE integrator_id = %s AND sequence > %s ORDER BY sequence LIMIT %s) e",
            [integrator_id, after, limit],
        )
        events = cursor.fetchone()[0]
    return Response({"data": {"results": json.loads(events) if isinstance(events, str) else events}})


urlpatterns = [
    path("trivial", trivial),
    path("floor/issues/<str:client_issue_id>", read),
    path("floor/issues/status/<str:client_issue_id>", write),
    path("floor/events", poll),
]
