"""With OTEL_EXPORTER_OTLP_ENDPOINT set, the spans go out over OTLP/HTTP (what Jaeger, Tempo and
Honeycomb take), in the caller's trace; unset, nothing is sent. A process of its own: the tracer
provider is installed once per process, when Django starts."""

import os
import subprocess
import sys

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from werkzeug import Request, Response

from tests.processes import ROOT

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SERVE_ONE = (
    "import django; django.setup();"
    "from django.test import Client; from opentelemetry import trace;"
    f"print(Client().get('/healthz', HTTP_TRACEPARENT='{CALLER}')['traceparent']);"
    "trace.get_tracer_provider().shutdown()"  # flush the batch before the process ends
)


def _serve_one(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment |= {"DJANGO_SETTINGS_MODULE": "getitdone.settings", "OTEL_SERVICE_NAME": "getitdone-test", **env}
    return subprocess.run([sys.executable, "-c", SERVE_ONE], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_spans_are_exported_over_otlp_in_the_callers_trace(httpserver):
    received: list[bytes] = []

    def collect(request: Request) -> Response:
        received.append(request.get_data())
        return Response(status=200)

    httpserver.expect_request("/v1/traces", method="POST").respond_with_handler(collect)
    run = _serve_one(OTEL_EXPORTER_OTLP_ENDPOINT=httpserver.url_for("/").rstrip("/"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    spans = []
    for body in received:
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            names = {a.key: a.value.string_value for a in resource.resource.attributes}
            assert names["service.name"] == "getitdone-test"
            spans += [span for scope in resource.scope_spans for span in scope.spans]
    [span] = spans
    assert span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736" and span.parent_span_id.hex() == "00f067aa0ba902b7"
    assert span.name == "GET /healthz"


def test_without_an_endpoint_nothing_is_exported(httpserver):
    httpserver.expect_request("/v1/traces").respond_with_data("")
    run = _serve_one()
    assert run.returncode == 0, run.stderr
    assert not httpserver.log
