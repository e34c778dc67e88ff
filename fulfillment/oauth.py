"""How django-oauth-toolkit is bent to the contract (API.md §2).

- Token requests arrive form-encoded, as JSON (even under a form content type, as the seed
  sends them) or with HTTP Basic client auth; `client_id` may be a JSON number.
- Access tokens are RS256 JWTs (RFC 9068), still stored by DOT so revocation and introspection
  work and a revoked token fails at once.
- Only an active integrator's application gets tokens, and only the scopes it was granted.
"""

import base64
import contextlib
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import jwt
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.generators import BaseHashGenerator
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.views import IntrospectTokenView, RevokeTokenView, TokenView

from fulfillment.keys import signing_key
from getitdone import attempts
from getitdone.limits import body_depth_exceeds, text_flaw


class NumericClientIdGenerator(BaseHashGenerator):
    """Client ids are numbers (the seed sends `"client_id": 1`): 12 random digits."""

    def hash(self) -> str:
        return str(secrets.randbelow(9 * 10**11) + 10**11)


# The longest client id we issue is 12 digits; anything much longer names no client.
_CLIENT_ID_MAX_LENGTH = 100


class TokenRequestBackend(OAuthLibCore):
    """Reads the token request body as JSON when it is JSON, whatever the content type says;
    takes an API request's bearer token from its Authorization header alone."""

    def verify_request(self, request: Any, scopes: list[str]) -> tuple[bool, Any]:
        # oauthlib would also take `access_token` from the query string or the body (RFC 9700
        # §4.3.2 says never: they end up in logs), and reading the body here would parse it
        # once more. Neither is given to it; a token in the query string is refused outright.
        if "access_token" in request.GET:
            return False, None
        uri = request.build_absolute_uri(request.path)
        return self.server.verify_request(uri, request.method, "", self.extract_headers(request), scopes=scopes)

    def extract_body(self, request: Any) -> list[tuple[str, str]]:
        params = _json_params(request)
        return super().extract_body(request) if params is None else params


def _json_params(request: Any) -> list[tuple[str, str]] | None:
    """A token request's JSON body as form pairs, or None when the body is no JSON object."""
    if request.content_type == "multipart/form-data":
        return None
    raw = request.body
    if raw.lstrip()[:1] != b"{":
        return None
    if body_depth_exceeds(raw):
        return []  # no parameters: oauthlib refuses the request (400)
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    pairs = [(str(k), _form_value(v)) for k, v in payload.items() if v is not None]
    # oauthlib encodes every pair as UTF-8: a lone surrogate would fail there.
    return [(k, v) for k, v in pairs if not text_flaw(k + v)]


def _form_value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integrator_of(application: Any) -> Any:
    try:
        return application.integrator
    except (ObjectDoesNotExist, AttributeError):
        return None


class IntegratorOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id: Any, request: Any) -> Any:
        # A client id no client can have (NUL, over-long) is unknown, not a database error.
        if not isinstance(client_id, str) or len(client_id) > _CLIENT_ID_MAX_LENGTH or text_flaw(client_id):
            return None
        return super()._load_application(client_id, request)

    def _load_access_token(self, token: str) -> Any:
        # One query answers both "is the token valid" and "whose is it".
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application", "application__integrator")
            .filter(token_checksum=checksum)
            .first()
        )

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        integrator = _integrator_of(request.client)
        # Applications without an integrator, or of a disabled one, get `invalid_client`.
        return integrator is not None and integrator.is_active


class IntegratorScopes(SettingsScopes):
    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list:
        integrator = _integrator_of(application)
        return integrator.scope_list if integrator else []

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list:
        return self.get_available_scopes(application, request)


def jwt_access_token_generator(request: Any, refresh_token: bool = False) -> str:
    """DOT's ACCESS_TOKEN_GENERATOR: an RFC 9068 JWT access token signed RS256."""
    key = signing_key()
    now = datetime.now(UTC)
    client_id = request.client.client_id
    claims = {
        "iss": settings.JWT_ISSUER,
        "sub": client_id,
        "aud": settings.JWT_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME)).timestamp()),
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(request.scopes or []),
    }
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"typ": "at+jwt", "kid": key.kid})


class OwnTokensIntrospectView(IntrospectTokenView):
    """RFC 7662 introspection, answering only about the caller's own tokens: another client's
    token is reported inactive, so introspection reveals nothing across integrators."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
        response = super().post(request, *args, **kwargs)
        caller = _client_id_of(request)
        if response.status_code == 200:
            body = json.loads(response.content)
            if body.get("active") and body.get("client_id") != caller:
                return JsonResponse({"active": False})
        return response

    def get(self, request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"error": "invalid_request", "error_description": "Use POST."}, status=405)


def _client_id_of(request: Any) -> str | None:
    """The client id a token-endpoint request names: in HTTP Basic, or in its body (form or JSON)."""
    ids = _client_ids_of(request)
    return ids[0] if ids else None


def _client_ids_of(request: Any) -> list[str]:
    """Every client id the request names: HTTP Basic's, then the body's (form or JSON)."""
    ids = []
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            ids.append(unquote_plus(base64.b64decode(header.split(" ", 1)[1]).decode().split(":", 1)[0]))
    params = _json_params(request)
    ids.append((request.POST.get("client_id") if params is None else dict(params).get("client_id")) or "")
    return [i for i in dict.fromkeys(ids) if i]


def _client_limited(view: Any) -> Any:
    """An endpoint that authenticates a client (token, revoke, introspect), with its failed
    attempts limited per client id and per address (API.md §2; getitdone.attempts.guarded).
    A request may name its client once, by HTTP Basic or in its body."""

    def dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # dispatch, not post: introspection authenticates its caller before post is reached.
        if request.method != "POST":
            return view.dispatch(self, request, *args, **kwargs)
        client_ids = _client_ids_of(request)
        if len(client_ids) > 1:
            # RFC 6749 §2.3.1: one authentication method per request. Else the client limited
            # (and, for introspection, the one answered about) need not be the one that passed.
            return JsonResponse(
                {"error": "invalid_request", "error_description": "Name the client once: HTTP Basic or the body."},
                status=400,
            )
        limits = [(attempts.token_failures_per_client(), client_id) for client_id in client_ids]
        limits.append((attempts.token_failures_per_address(), attempts.client_address(request)))
        return attempts.guarded(
            lambda: view.dispatch(self, request, *args, **kwargs),
            limits=limits,
            failed=lambda response: response.status_code in (400, 401, 403),  # not a 5xx: no guess was judged
            too_many=_too_many,
        )

    dispatch.csrf_exempt = True  # as DOT's own views are: their clients are no browsers
    return type(view.__name__, (view,), {"dispatch": dispatch, "__doc__": view.__doc__})


def _too_many(wait: int) -> JsonResponse:
    # RFC 8628's slow_down is the one token-endpoint error that means "not so fast".
    response = JsonResponse(
        {"error": "slow_down", "error_description": f"Too many failed attempts; retry in {wait} s."}, status=429
    )
    response["Retry-After"] = str(wait)
    return response


LimitedTokenView = _client_limited(TokenView)
LimitedRevokeTokenView = _client_limited(RevokeTokenView)
LimitedIntrospectView = _client_limited(OwnTokensIntrospectView)
