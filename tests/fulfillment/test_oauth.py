"""OAuth2 client credentials with RS256 JWT access tokens (API.md §2)."""

import base64
import hashlib
import json
from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.conftest import client_for, obtain_token
from tests.factories import IntegratorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]


def _creds(integrator):
    return integrator._credentials


def test_token_with_form_body(api_client, integrator):
    c = _creds(integrator)
    response = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read write"
    assert body["access_token"].count(".") == 2


def test_token_with_json_body_and_numeric_client_id(api_client, integrator):
    c = _creds(integrator)
    payload = {"grant_type": "client_credentials", "client_id": int(c.client_id), "client_secret": c.client_secret}
    response = api_client.post("/oauth/token", json.dumps(payload), content_type="application/json")
    assert response.status_code == 200, response.content


def test_token_with_json_body_sent_as_form_content_type(api_client, integrator):
    """The seed's own example: a JSON body under `Content-Type: x-www-form-urlencoded`."""
    c = _creds(integrator)
    payload = {"grant_type": "client_credentials", "client_id": int(c.client_id), "client_secret": c.client_secret}
    response = api_client.post("/oauth/token", json.dumps(payload), content_type="x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    response = api_client.post("/oauth/token", json.dumps(payload), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content


def test_token_with_http_basic(api_client, integrator):
    c = _creds(integrator)
    basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
    response = api_client.post(
        "/oauth/token", {"grant_type": "client_credentials", "scope": "read"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "read"


def test_bad_secret_is_invalid_client(api_client, integrator):
    c = _creds(integrator)
    response = api_client.post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": "nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_grant_type(api_client, integrator):
    c = _creds(integrator)
    response = api_client.post(
        "/oauth/token", {"grant_type": "magic", "client_id": c.client_id, "client_secret": c.client_secret}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_scope_beyond_the_integrators_is_refused(api_client):
    reader = IntegratorFactory(scopes="read")
    c = _creds(reader)
    response = api_client.post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "scope": "read write",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    default = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret},
    )
    assert default.json()["scope"] == "read"


@pytest.mark.django_db(transaction=True)
def test_jwt_claims_verify_against_the_jwks_endpoint(live_server, integrator, api_client, settings):
    token = obtain_token(api_client, integrator)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]

    jwks_client = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json")
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    client_id = _creds(integrator).client_id
    assert claims["client_id"] == client_id == claims["sub"]
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == 3600


def test_jwt_signed_with_another_key_fails_verification(api_client, integrator):
    from cryptography.hazmat.primitives.asymmetric import rsa

    token = obtain_token(api_client, integrator)
    jwks = api_client.get("/.well-known/jwks.json").json()
    assert len(jwks["keys"]) == 1
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), other, algorithm="RS256")
    public = jwt.PyJWK(jwks["keys"][0]).key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, public, algorithms=["RS256"], options={"verify_aud": False})


def test_token_is_stored_so_it_can_be_revoked(api_client, integrator):
    client = client_for(integrator)
    assert client.get("/api/test/probe").status_code == 200
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    c = _creds(integrator)
    response = api_client.post(
        "/oauth/revoke_token/", {"token": token, "client_id": c.client_id, "client_secret": c.client_secret}
    )
    assert response.status_code == 200
    refused = client.get("/api/test/probe")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def test_introspection(api_client, integrator):
    token = obtain_token(api_client, integrator)
    c = _creds(integrator)
    basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
    response = api_client.post("/oauth/introspect/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True and body["client_id"] == c.client_id and body["scope"] == "read write"


def test_expired_token_is_401(integrator):
    client = client_for(integrator)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/test/probe")
    assert refused.status_code == 401
    assert 'error_description="The access token has expired."' in refused["WWW-Authenticate"]


def test_disabled_integrator_gets_no_token_and_its_tokens_get_403(api_client, integrator):
    client = client_for(integrator)
    integrator.is_active = False
    integrator.save()
    response = client.get("/api/test/probe")
    assert response.status_code == 403
    assert response.json()["message"] == "Forbidden"
    c = _creds(integrator)
    refused = api_client.post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret}
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_introspection_says_nothing_about_another_integrators_token(api_client, integrator, other_integrator):
    theirs = obtain_token(api_client, other_integrator)
    c = _creds(integrator)
    basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
    response = api_client.post("/oauth/introspect/", {"token": theirs}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200 and response.json() == {"active": False}


# --- RFC 9700: where a token may travel, and how it is kept ------------------------------------


def test_a_token_in_the_query_string_authenticates_nothing(api_client, integrator):
    token = obtain_token(api_client, integrator)
    assert api_client.get(f"/api/issues?access_token={token}").status_code == 401
    # Not even beside a good header: the token has been exposed to every log on the way.
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(f"/api/issues?access_token={token}").status_code == 401
    assert api_client.get("/api/issues").status_code == 200


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_token_in_the_body_authenticates_nothing(api_client, integrator, content_type):
    token = obtain_token(api_client, integrator)
    body = json.dumps({"access_token": token}) if "json" in content_type else f"access_token={token}"
    for path in ("/api/issues", "/api/webhooks", "/api/commands"):
        response = api_client.post(path, body, content_type=content_type)
        assert response.status_code == 401, (path, response.content)


def test_access_tokens_are_stored_as_their_hash_only(api_client, integrator):
    token = obtain_token(api_client, integrator)
    stored = AccessToken.objects.get()
    assert stored.token == "" and stored.token_checksum == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM oauth2_provider_accesstoken")
        assert not any(token in str(column) for column in cursor.fetchone())
