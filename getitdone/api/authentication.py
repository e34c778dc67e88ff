"""Bearer-token authentication: the stored token is checked on every request (so revocation and
expiry apply at once, in every process); the request's `user` becomes the token's integrator.
Requests that authenticate nothing are counted per address (API.md §2): past the limit they get
429 before anything else runs.

The check is one indexed query (the token's sha256, joined to its integrator), the work DOT's
validator does for a bearer token, without oauthlib's request machinery around it. A token
restricted to a resource (RFC 8707) is rare here and goes through DOT, which checks its audience.
"""

import functools
import hashlib
from typing import Any

from django.utils.translation import gettext as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework import exceptions
from rest_framework.request import Request

from fulfillment.models import Integrator
from getitdone import attempts, rows


class IntegratorTokenAuthentication(OAuth2Authentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        found = _integrator_and_token(request)
        if found is None:
            _count_anonymous(request)
            return None
        return found


def _bearer(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, as oauthlib reads it; a token in the query
    string (RFC 9700 §4.3.2: they end up in logs) voids the request, header or not."""
    if "access_token" in request._request.GET:
        return None
    parts = request._request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


@functools.cache
def _token_query() -> tuple[str, rows.Columns, rows.Columns]:
    # The webhook secret is encrypted and no request needs it: it is not read, nor decrypted.
    integrator = rows.Columns(Integrator, "i", exclude=["webhook_secret"])
    token = rows.Columns(AccessToken, "t", only=["id", "application_id", "expires", "scope", "resource"])
    sql = (
        f"SELECT {integrator.sql}, {token.sql}"
        f" FROM {AccessToken._meta.db_table} t"
        f" JOIN {Integrator._meta.db_table} i ON i.application_id = t.application_id"
        " WHERE t.token_checksum = %s"
    )
    return sql, integrator, token


def _integrator_and_token(request: Request) -> tuple[Integrator, AccessToken] | None:
    token = _bearer(request)
    if token is None:
        return None
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    sql, integrator_columns, token_columns = _token_query()
    found = rows.fetch(sql, [checksum])
    # Why a given token fails goes in WWW-Authenticate (RFC 6750 §3.1), in DOT's words.
    if not found:
        request.oauth2_error = {"error": "invalid_token", "error_description": _("The access token is invalid.")}
        return None
    integrator = integrator_columns.load(found[0])
    access_token = token_columns.load(found[0], len(integrator_columns))
    if access_token.is_expired():
        request.oauth2_error = {"error": "invalid_token", "error_description": _("The access token has expired.")}
        return None
    if access_token.resource:
        result = OAuth2Authentication.authenticate(OAuth2Authentication(), request)
        return (integrator, result[1]) if result is not None else None
    return integrator, access_token


def _count_anonymous(request: Request) -> None:
    limit = attempts.anonymous_api_requests()
    _, exceeded = limit.take(attempts.client_address(request))
    if exceeded:
        raise exceptions.Throttled(limit.seconds_left())
