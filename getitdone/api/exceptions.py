"""The DRF exception handler that puts every error in the envelope: DRF's own exceptions and
the services' DomainErrors (getitdone.errors) alike."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from getitdone.api.envelope import default_message, failure
from getitdone.errors import DomainError

NON_FIELD = "non_field_errors"


# Statuses whose default message says all there is to say: their `error` list stays empty.
_SELF_EXPLAINING = {401, 404, 405, 429}


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str | None]]:
    """Turn DRF's nested error detail into `[{"field": "details.address.city", ...}, ...]`."""
    items: list[dict[str, str | None]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            field = prefix or NON_FIELD if name == NON_FIELD else f"{prefix}.{name}" if prefix else name
            items.extend(flatten_errors(value, field))
    elif isinstance(detail, list):
        if detail and all(isinstance(d, exceptions.ErrorDetail | str) for d in detail):
            for message in detail:
                items.append(_item(prefix, message))
        else:
            # A list of nested serializers: each position is its own sub-object.
            for index, value in enumerate(detail):
                if value:
                    items.extend(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        items.append(_item(prefix, detail))
    return items


def _item(field: str, message: Any) -> dict[str, str | None]:
    return {
        "field": field or NON_FIELD,
        "code": getattr(message, "code", None) or "invalid",
        "message": str(message),
    }


def validation_envelope(detail: Any) -> dict[str, Any]:
    errors = flatten_errors(detail)
    first = errors[0] if errors else {"field": NON_FIELD, "code": "invalid", "message": ""}
    return failure(
        422,
        warning={"code": first["code"], "field": first["field"], "value": first["message"]},
        error=errors,
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status and headers such as Retry-After and WWW-Authenticate), enveloped.

    Exceptions DRF does not know return None and propagate; the envelope middleware turns them
    into a 500 without leaking a trace.
    """
    if isinstance(exc, DomainError) and exc.status_code not in (404, 422):
        return Response(failure(exc.status_code, message=exc.message, error=[exc.as_dict()]), status=exc.status_code)
    if isinstance(exc, DomainError):
        exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.status_code = 422
        response.data = validation_envelope(exc.detail)
        return response

    code = response.status_code
    detail = getattr(exc, "detail", None)
    error: list[dict[str, Any]] = []
    message = None
    if code not in _SELF_EXPLAINING and detail is not None:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        error = [{"field": None, "code": codes if isinstance(codes, str) else "error", "message": str(detail)}]
        if code in (400, 409, 413, 415, 406):
            message = str(detail)
    response.data = failure(code, message=message or default_message(code), error=error)
    return response


def _as_api_exception(exc: DomainError) -> exceptions.APIException:
    if exc.status_code == 422:
        return exceptions.ValidationError({exc.field or NON_FIELD: [exceptions.ErrorDetail(exc.message, exc.code)]})
    return exceptions.NotFound()
