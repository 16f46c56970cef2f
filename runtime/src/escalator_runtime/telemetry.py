"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` environment variables.

Spans are always created (unless ``OTEL_SDK_DISABLED=true``), so trace ids reach the logs and
the Kafka headers of the next hop; they leave the process only through an exporter:
``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``, ``none``; by default ``otlp`` when an
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, else none).
OTLP goes over HTTP/protobuf; endpoint, headers, timeout and compression come from the
exporter's own ``OTEL_EXPORTER_OTLP_*`` variables, batching from ``OTEL_BSP_*``.
"""

import os
from collections.abc import Sequence

import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

log = structlog.get_logger(__name__)

# Probes and scrapes every few seconds, and the realtime stream's frames, are not worth a trace.
UNTRACED_URLS = "/healthz,/readyz,/metrics,/api/v1/stream,/ui/"


class _DropOrphanClientSpans(Sampler):
    """A database query or HTTP call outside any trace (a poll loop, a config refresh) would
    start a trace of one span every few seconds; only those inside a trace are kept."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "DropOrphanClientSpans"


def _exporters() -> list[SpanExporter]:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    names = os.environ.get("OTEL_TRACES_EXPORTER") or ("otlp" if endpoint else "none")
    exporters: list[SpanExporter] = []
    for name in (part.strip().lower() for part in names.split(",")):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name not in {"none", ""}:
            log.warning("unknown OTEL_TRACES_EXPORTER ignored", exporter=name)
    return exporters


def configure_tracing(service: str) -> trace.TracerProvider:
    """Install a tracer provider named after the service (once per process) and instrument
    asyncpg and httpx."""
    current = trace.get_tracer_provider()
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return current
    if not isinstance(current, TracerProvider):
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
        # OTEL_TRACES_SAMPLER, when set, is honoured by the SDK in place of this default.
        sampler = (
            None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(_DropOrphanClientSpans())
        )
        current = TracerProvider(resource=resource, sampler=sampler)
        for exporter in _exporters():
            current.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(current)
    # The instrumentors are singletons: a second service in the process (tests) reuses them.
    for instrumentor in (AsyncPGInstrumentor(), HTTPXClientInstrumentor()):  # type: ignore[no-untyped-call]
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    return current


def instrument_app(app: FastAPI) -> None:
    """A server span per request (not probes, scrapes or stream frames). Done when the app is
    built: Starlette assembles its middleware on the first call, the lifespan's."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"]
    )
