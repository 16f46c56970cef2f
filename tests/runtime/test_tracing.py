"""Trace context across Kafka records: honoured when consumed, carried on per escalation, and
nothing at all for a detector batch that does not escalate."""

from collections.abc import Iterator
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from escalator_runtime import telemetry, tracing

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = telemetry.configure_tracing("tests")
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def record(offset: int, headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("escalations.detected", 0, offset, 0, 0, b"k", b"{}", None, 1, 2, headers)


def test_each_record_continues_its_own_trace(spans: InMemorySpanExporter) -> None:
    first, second = uuid4(), uuid4()
    traced = record(1, [("traceparent", f"00-{TRACE}-{PARENT}-01".encode())])
    untraced = record(2, [])
    with tracing.consumed("router", [(traced, first), (untraced, second)]):
        carried = tracing.carrier_for(first)
        other = tracing.carrier_for(second)
    assert carried["traceparent"].startswith(f"00-{TRACE}-")
    assert TRACE not in other["traceparent"]
    finished = {span.name: span for span in spans.get_finished_spans()}
    assert "process batch" in finished  # two records: one batch span, linked to both
    process = [s for s in spans.get_finished_spans() if s.name == "process escalations.detected"]
    assert {format(s.context.trace_id, "032x") == TRACE for s in process} == {True, False}
    assert all(span.kind is SpanKind.CONSUMER for span in process)
    assert tracing.span_for(first) is None  # forgotten once the batch is handled


def test_a_batch_without_escalations_makes_no_span(spans: InMemorySpanExporter) -> None:
    with tracing.escalations("detector", [], []):
        assert tracing.carrier() == {}
    assert spans.get_finished_spans() == ()


def test_database_calls_outside_a_trace_are_not_recorded(spans: InMemorySpanExporter) -> None:
    source = trace.get_tracer("tests")
    with source.start_as_current_span("poll", kind=SpanKind.CLIENT) as orphan:
        assert not orphan.is_recording()
    with (
        source.start_as_current_span("handle"),
        source.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as child,
    ):
        assert child.is_recording()
    assert [span.name for span in spans.get_finished_spans()] == ["SELECT", "handle"]


def test_exporters_follow_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert telemetry._exporters() == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert [type(e).__name__ for e in telemetry._exporters()] == ["OTLPSpanExporter"]
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert telemetry._exporters() == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert [type(e).__name__ for e in telemetry._exporters()] == ["ConsoleSpanExporter"]
