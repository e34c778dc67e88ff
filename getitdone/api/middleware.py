"""Request-level plumbing for the API: ids and headers, the envelope for Django's own errors,
maintenance mode and the body size limit."""

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse

from getitdone import db_errors, logs
from getitdone.api.envelope import failure_response

logger = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


# What integrators call: the API and the token endpoint.
_SERVICE_PATHS = ("/api/", "/oauth/")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class ApiHeadersMiddleware:
    """`X-Request-ID` (echoed when the client sent a sane one), `API-Version`, `RateLimit-*`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = logs.request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(token)
        response["X-Request-ID"] = request_id
        response["API-Version"] = settings.API_VERSION
        limit = getattr(request, "ratelimit", None)
        if limit is not None:
            response["RateLimit-Limit"] = str(limit.limit)
            response["RateLimit-Remaining"] = str(limit.remaining)
            response["RateLimit-Reset"] = str(limit.reset)
        return response


DATABASE_RETRY_AFTER = 5  # seconds: a restart or failover takes a few


def database_unavailable() -> HttpResponse:
    """503: the database is out of reach (restarting, failing over) or refused for a moment (a
    deadlock, a lock timeout); trying again shortly is the remedy (§2)."""
    error = {
        "field": None,
        "code": "database_unavailable",
        "message": "The database is unreachable or busy; try again shortly.",
    }
    response = failure_response(503, error=[error])
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


class ApiEnvelopeMiddleware:
    """Whatever Django answers on its own under /api/ (404, 405, 500, 400) gets the envelope too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api_path(request.path)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            enveloped = failure_response(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    enveloped[header] = response[header]
            return enveloped
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(_SERVICE_PATHS) and db_errors.is_transient(exception):
            logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
            return database_unavailable()
        if not is_api_path(request.path):
            return None
        if isinstance(exception, Http404):
            return failure_response(404)
        if isinstance(exception, PermissionDenied):
            return failure_response(403)
        if isinstance(exception, RequestDataTooBig):
            return failure_response(413, message=str(exception) or None)
        if isinstance(exception, SuspiciousOperation):
            return failure_response(400, message="Bad Request")
        # Logged with its trace here; the client only learns that it failed.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return failure_response(500)


class MaintenanceModeMiddleware:
    """503 with Retry-After for the API and the token endpoint while maintenance is on.

    On from the `MAINTENANCE_MODE` setting, or from the switch staff flip in admin.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_SERVICE_PATHS):
            from fulfillment.selectors import maintenance_state

            try:
                state = maintenance_state()
            except DatabaseError as exc:
                if not db_errors.is_transient(exc):
                    raise
                logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
                return database_unavailable()
            if state.enabled:
                response = failure_response(
                    503, error=[{"field": None, "code": "maintenance", "message": state.message}]
                )
                response["Retry-After"] = str(state.retry_after)
                return response
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """413 for API bodies over the limit, before anything reads them.

    DRF's parsers read the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.content_type == "multipart/form-data"
            # A multipart upload may carry a file up to the file limit, plus its form framing.
            limit = settings.FILES_MAX_UPLOAD_SIZE + 64 * 1024 if multipart else settings.API_MAX_JSON_BODY
            if length > limit:
                return failure_response(
                    413,
                    message=f"The request body is {length} bytes; the limit is {limit} bytes.",
                    error=[{"field": None, "code": "payload_too_large", "message": f"limit {limit} bytes"}],
                )
        return self.get_response(request)
