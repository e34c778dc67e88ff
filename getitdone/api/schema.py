"""drf-spectacular plumbing: every documented response is wrapped in the envelope, every
operation lists the errors it can answer with, and the bearer token is an OAuth2 client
credentials flow."""

from typing import Any

from django.utils.translation import get_language
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from getitdone.api.renderers import EnvelopeJSONRenderer

ENVELOPE_DESCRIPTION = "Every /api/ response is this envelope; `data` holds the result."


class JsonErrors:
    """For the schema and docs views, whose renderers (YAML, HTML) cannot draw the envelope: an
    error (a 429, say) is answered in JSON, as everywhere else under /api/."""

    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = EnvelopeJSONRenderer()
        self.request.accepted_media_type = EnvelopeJSONRenderer.media_type
        return super().handle_exception(exc)


class SwaggerView(JsonErrors, SpectacularSwaggerView):
    pass


class RedocView(JsonErrors, SpectacularRedocView):
    template_name = "getitdone/redoc.html"  # without the Google Fonts of drf-spectacular's page


class CachedSchemaView(JsonErrors, SpectacularAPIView):
    """`/api/schema/`, built once per process and language: it changes only with the code, and
    building it costs a few hundred milliseconds, too much for a public, unauthenticated URL."""

    _built: dict[tuple[Any, ...], Response] = {}

    def _get_schema_response(self, request: Request) -> Response:
        key = (self.api_version or request.version, get_language(), self.serve_public)
        if key not in self._built:
            self._built[key] = super()._get_schema_response(request)
        built = self._built[key]
        return Response(data=built.data, headers={"Content-Disposition": built["Content-Disposition"]})


def drop_versioned_aliases(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list:
    """`/api/v1/…` repeats `/api/…` exactly; document each operation once, under `/api/`."""
    return [e for e in endpoints if not e[0].startswith("/api/v1/")]


def page_of(serializer: type[serializers.Serializer], name: str) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            "results": serializer(many=True),
            "next_cursor": serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page."),
        },
    )


class IntegratorTokenScheme(OpenApiAuthenticationExtension):
    target_class = "getitdone.api.authentication.IntegratorTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {
            "type": "oauth2",
            "description": "OAuth2 client credentials; the access token is an RS256 JWT sent as `Bearer`.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {"read": "Read your own data", "write": "Create and change your own data"},
                }
            },
        }

    def get_security_requirement(self, auto_schema: Any) -> list:
        write = auto_schema.method not in ("GET", "HEAD", "OPTIONS")
        return [{self.name: ["write" if write else "read"]}]


_ERRORS = {
    "400": "A malformed request, or valid data the request cannot be done with (the message says why).",
    "401": "No, bad, expired or revoked token.",
    "403": "The token lacks the scope, or the integrator is disabled.",
    "404": "Not found, or not yours.",
    "409": "Version conflict, or the same Idempotency-Key still being accepted.",
    "413": "Body over the limit.",
    "422": "Missing or invalid fields: `warning` names the first, `error` lists all.",
    "429": "Rate limit; see Retry-After.",
    "500": "Unhandled error.",
    "503": "Maintenance or a dependency down; see Retry-After.",
}


# OpenAPI links: which ids in a response (in the envelope's `data`) open which operations, for
# generated clients and for the stateful phase of schemathesis.
_ISSUE = {"client_issue_id": "$response.body#/data/client_issue_id"}
_WEBHOOK = {"webhook_id": "$response.body#/data/id"}
_FILE = {"file_id": "$response.body#/data/id"}
LINKS = {
    ("issues_create", "201"): {
        "GetIssue": ("issues_get", _ISSUE),
        "ChangeIssueStatus": ("issues_change_status", _ISSUE),
        "GetIssueHistory": ("issues_history", _ISSUE),
        "ListIssueFiles": ("issues_files_list", _ISSUE),
        "UploadIssueFile": ("issues_files_upload", _ISSUE),
    },
    ("issues_get", "200"): {
        "ChangeIssueStatus": ("issues_change_status", _ISSUE),
        "GetIssueHistory": ("issues_history", _ISSUE),
        "ListIssueFiles": ("issues_files_list", _ISSUE),
    },
    ("issues_change_status", "200"): {"GetIssueHistory": ("issues_history", _ISSUE)},
    ("issues_files_upload", "201"): {"GetFile": ("files_get", _FILE), "GetFileContent": ("files_content", _FILE)},
    ("webhooks_create", "201"): {
        "GetWebhook": ("webhooks_get", _WEBHOOK),
        "UpdateWebhook": ("webhooks_update", _WEBHOOK),
        "DeleteWebhook": ("webhooks_delete", _WEBHOOK),
        "TestWebhook": ("webhooks_test", _WEBHOOK),
        "RotateWebhookSecret": ("webhooks_rotate_secret", _WEBHOOK),
        "ListWebhookDeliveries": ("webhooks_deliveries_list", _WEBHOOK),
    },
    ("webhooks_test", "202"): {
        "RetryDelivery": (
            "webhooks_deliveries_retry",
            {"webhook_id": "$request.path.webhook_id", "delivery_id": "$response.body#/data/id"},
        ),
    },
    ("commands_send", "202"): {"GetCommand": ("commands_get", {"command_pk": "$response.body#/data/id"})},
    ("workflows_list", "200"): {
        "GetWorkflow": ("workflows_get", {"id_or_code": "$response.body#/data/results/0/code"})
    },
    ("events_list", "200"): {"GetEvent": ("events_get", {"event_id": "$response.body#/data/results/0/id"})},
}


def envelope_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Postprocessing hook: wrap 2xx bodies in the envelope, add the error responses and the
    links, and mark request bodies required."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorItem"] = {
        "type": "object",
        "properties": {
            "field": {
                "type": ["string", "null"],
                "description": "Dotted path of the bad field, e.g. details.address.city",
            },
            "code": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
        "required": ["field", "code", "message"],
    }
    components["ErrorEnvelope"] = {
        "type": "object",
        "description": ENVELOPE_DESCRIPTION,
        "properties": {
            "code": {"type": "integer"},
            "status": {"type": "string", "enum": ["error"]},
            "message": {"type": "string"},
            "data": {"type": ["object", "null"]},
            "warning": {
                "description": "422: the first bad field as {code, field, value}; otherwise [].",
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "code": {"type": ["string", "null"]},
                            "field": {"type": "string"},
                            "value": {"type": "string"},
                        },
                    },
                    {"type": "array", "items": {}},
                ],
            },
            "error": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}},
        },
        "required": ["code", "status", "message", "warning", "error"],
    }
    components["Warning"] = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "field": {"type": "string"}, "value": {"type": "string"}},
    }
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith(("/api/schema", "/api/docs", "/api/redoc")):
            continue
        for method, operation in operations.items():
            if method in ("post", "put") and "requestBody" in operation:
                # drf-spectacular leaves a oneOf body (a command) optional: none is a 422.
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                for name, (target, parameters) in LINKS.get((operation.get("operationId"), status), {}).items():
                    response.setdefault("links", {})[name] = {"operationId": target, "parameters": parameters}
                if not status.startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json")
                if content is None:
                    continue
                inner = content.get("schema", {})
                content["schema"] = {
                    "type": "object",
                    "description": ENVELOPE_DESCRIPTION,
                    "properties": {
                        "code": {"type": "integer", "example": int(status)},
                        "status": {"type": "string", "enum": ["success"]},
                        "message": {"type": "string"},
                        "data": inner,
                        "warning": {
                            "oneOf": [
                                {"type": "null"},
                                {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}},
                            ]
                        },
                        "error": {"type": "null"},
                    },
                    "required": ["code", "status", "message", "data", "warning", "error"],
                }
            # 400 on any method: Django refuses a malformed request (more query parameters than
            # DATA_UPLOAD_MAX_NUMBER_FIELDS, say) before a view sees it.
            codes = ["400", "401", "403", "404", "429", "500", "503"]
            if method in ("post", "put", "patch"):
                codes += ["409", "413", "422"]
            elif operation.get("parameters"):
                codes.append("422")
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": _ERRORS[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
                    },
                )
    return result
