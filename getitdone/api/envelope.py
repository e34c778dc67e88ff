"""The seed's response envelope, shared by every `/api/` response, success or error.

    {"code": 200, "status": "success", "message": "OK", "data": {...}, "warning": null, "error": null}

Views return plain data and the renderer wraps it; errors are built here by the exception
handler and by the middleware that catches what Django itself answers (404, 405, 500).
"""

from typing import Any

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

# Default `message` per status (English; Spanish through the locale catalogue).
MESSAGES = {
    200: _("OK"),
    201: _("Created"),
    202: _("Accepted"),
    400: _("Bad Request"),
    401: _("Unauthenticated"),
    403: _("Forbidden"),
    404: _("404 Not Found"),
    405: _("Method Not Allowed"),
    406: _("Not Acceptable"),
    409: _("Conflict"),
    413: _("Payload Too Large"),
    415: _("Unsupported Media Type"),
    422: _("Validation Error"),
    429: _("Too Many Attempts"),
    500: _("Internal Server Error"),
    503: _("Service Unavailable"),
}


class Envelope(dict):
    """A response body that is already enveloped: the renderer passes it through untouched."""


def default_message(status_code: int) -> str:
    return str(MESSAGES.get(status_code, _("Error") if status_code >= 400 else _("OK")))


def success(data: Any, *, status_code: int = 200, warning: Any = None) -> Envelope:
    return Envelope(
        code=status_code,
        status="success",
        message=default_message(status_code),
        data=data,
        warning=warning,
        error=None,
    )


def failure(
    status_code: int,
    *,
    message: str | None = None,
    warning: Any = None,
    error: Any = None,
    data: Any = None,
) -> Envelope:
    return Envelope(
        code=status_code,
        status="error",
        message=message or default_message(status_code),
        data=data,
        warning=[] if warning is None else warning,
        error=[] if error is None else error,
    )


def failure_response(status_code: int, **kwargs: Any) -> JsonResponse:
    """A plain Django response carrying an error envelope, for code outside DRF views."""
    return JsonResponse(failure(status_code, **kwargs), status=status_code)
