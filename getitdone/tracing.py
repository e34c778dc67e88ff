"""Tracing (API.md §1): one W3C trace from an API call to the partner's receiver.

A request's `traceparent` is continued (a bad or missing one starts a new trace), and the
response names the server's span. Every event records the trace context it was published in;
a command records its request's, so the events it causes in the worker keep it. Celery carries
nothing but wake-ups (the rows are the truth), so the trace travels on the rows, and every
delivery sends a `traceparent` with its event's trace id and a span id of its own.

The spans (a request served, a command run) are the OpenTelemetry SDK's, exported over
OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the standard OTEL_*
variables itself: headers, timeout, ...), and exported nowhere otherwise. A delivery's span id is
a random one, made without the SDK: a worker sends thousands a second.
"""

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse
from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from getitdone import metrics

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_propagator = TraceContextTextMapPropagator()


def configure(service: str) -> None:
    """Install the SDK's tracer provider for this process (once; from AppConfig.ready)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracer() -> trace.Tracer:
    return trace.get_tracer("getitdone")


def format_traceparent(span_context: SpanContext) -> str:
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def current_traceparent() -> str:
    """The trace context now (the request's or the command's span), '' outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return format_traceparent(span_context) if span_context.is_valid else ""


def _parsed(traceparent: str) -> SpanContext | None:
    match = _TRACEPARENT.match(traceparent or "")
    if not match or set(match[1]) == {"0"} or set(match[2]) == {"0"}:
        return None
    return SpanContext(int(match[1], 16), int(match[2], 16), is_remote=True, trace_flags=TraceFlags(int(match[3], 16)))


@contextmanager
def server_span(headers: Mapping[str, str], name: str) -> Iterator[Span]:
    """The span of serving a request, continuing the caller's `traceparent` if it sent one."""
    parent = _propagator.extract({"traceparent": headers.get("traceparent", "")})
    with tracer().start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
        yield span


@contextmanager
def continued(traceparent: str, name: str) -> Iterator[None]:
    """Work done later on behalf of a traced request (a command in the worker): a span in its
    trace, current while the work runs. A new trace if it has none."""
    parent = _parsed(traceparent)
    ctx = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else context.Context()
    with tracer().start_as_current_span(name, context=ctx, kind=SpanKind.CONSUMER):
        yield


def new_traceparent() -> str:
    """A trace of its own, for a change made outside any traced request or command."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def delivery_traceparent(event_traceparent: str, event_id: str) -> str:
    """The `traceparent` a delivery sends: its event's trace id, a span id of its own. An event
    recorded before tracing gets a trace id made from its id: the same on every attempt."""
    parent = _parsed(event_traceparent)
    trace_id = f"{parent.trace_id:032x}" if parent else hashlib.sha256(event_id.encode()).hexdigest()[:32]
    flags = f"{int(parent.trace_flags):02x}" if parent else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


class TracingMiddleware:
    """A server span per request, continuing the caller's trace; `traceparent` on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with server_span(request.headers, request.method or "HTTP") as span:
            response = self.get_response(request)
            route = metrics.route_of(request)
            span.update_name(f"{request.method} {route}")
            span.set_attribute("http.request.method", request.method or "")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            response["traceparent"] = format_traceparent(span.get_span_context())
        return response
