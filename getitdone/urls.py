"""Routes. Every API path is served at `/api/…` (the seed's, the current version) and
`/api/v1/…`."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from fulfillment.keys import jwks
from fulfillment.oauth import LimitedIntrospectView, LimitedRevokeTokenView, LimitedTokenView
from getitdone.admin_login import limit_failed_logins
from getitdone.api import health
from getitdone.api.schema import CachedSchemaView, RedocView, SwaggerView
from getitdone.metrics import metrics_view

api_patterns: list = [
    path("", include("fulfillment.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("commands.api.urls")),
    path("schema/", CachedSchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
]


@require_GET
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


oauth_patterns = [
    # The seed posts to /oauth/token with no trailing slash; DOT's own path has one.
    path("token", LimitedTokenView.as_view(), name="token"),
    path("token/", LimitedTokenView.as_view()),
    path("revoke_token/", LimitedRevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", LimitedIntrospectView.as_view(), name="introspect"),
]

urlpatterns = [
    path("admin/login/", limit_failed_logins(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("oauth/", include((oauth_patterns, "oauth2_provider"))),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/", include((api_patterns, "api"), namespace="api")),
    path("api/v1/", include((api_patterns, "api"), namespace="v1")),
]
