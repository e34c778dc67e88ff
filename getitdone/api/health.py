"""Liveness and readiness for ops: `/healthz` (the process answers) and `/readyz` (its
dependencies answer too)."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

from getitdone.api.envelope import failure, success

logger = logging.getLogger(__name__)

_CHECK_TIMEOUT = 2  # seconds: a readiness probe must answer before the orchestrator gives up


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse(success({"status": "ok"}))


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=_CHECK_TIMEOUT,
        transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=_CHECK_TIMEOUT)


def _check_cache() -> None:
    cache.set("getitdone:readyz", "1", 10)
    if cache.get("getitdone:readyz") != "1":
        raise RuntimeError("cache did not return what was written")


CHECKS = {"database": _check_database, "broker": _check_broker, "cache": _check_cache}


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    errors = []
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure of a dependency means "not ready"
            logger.warning("readiness: %s is down: %s", name, exc)
            results[name] = "down"
            errors.append({"field": name, "code": "unavailable", "message": f"{name} is unreachable"})
    if errors:
        body = failure(503, data=results, error=errors)
        response = JsonResponse(body, status=503)
        response["Retry-After"] = "10"
        return response
    return JsonResponse(success(results))
