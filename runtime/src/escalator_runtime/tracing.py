"""One trace per escalation, across the Kafka hops and the outboxes.

W3C trace context travels in Kafka headers (``traceparent``, ``tracestate``). Consumers handle
records in batches, so a span per record is started by ``consumed`` and registered under the
escalation id the record is about: while the batch is handled, the events published for that
escalation carry its context (``carrier_for``), and log lines that name it carry its trace id
(``span_for``, read by the log set-up). The detector, which must stay cheap for the messages that
do not escalate, opens spans only for those that do (``escalations``).
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from escalator_schemas.chat import ChatMessage
from escalator_schemas.events import EscalationDetected

Headers = Sequence[tuple[str, bytes]]

# The spans of the batch being handled, by escalation id.
_ESCALATION_SPANS: ContextVar[Mapping[str, Span] | None] = ContextVar(
    "escalation_spans", default=None
)


class _RecordHeaders(Getter[Headers]):
    def get(self, carrier: Headers, key: str) -> list[str] | None:
        values = [value.decode("latin-1") for name, value in carrier if name == key]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [name for name, _value in carrier]


_GETTER = _RecordHeaders()


def tracer(service: str) -> trace.Tracer:
    # The instrumentation scope names the service: in one process (tests) spans stay apart.
    return trace.get_tracer(f"escalator.{service}")


def incoming(record: ConsumerRecord[bytes, bytes]) -> Context:
    """The trace context the record's producer put in its headers (empty when none)."""
    return propagate.extract(record.headers or (), getter=_GETTER)


def carrier(context: Context | None = None) -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of ``context``, by default the current one."""
    headers: dict[str, str] = {}
    propagate.inject(headers, context=context)
    return headers


def span_for(escalation_id: object) -> Span | None:
    """The span of the escalation in the batch being handled, if any."""
    spans = _ESCALATION_SPANS.get()
    return None if spans is None else spans.get(str(escalation_id))


def carrier_for(
    escalation_id: UUID | str, fallback: dict[str, str] | None = None
) -> dict[str, str]:
    """Trace headers for an event about ``escalation_id``: its span's in the batch being
    handled, else ``fallback`` (by default the current context's)."""
    span = span_for(escalation_id)
    if span is not None:
        return carrier(trace.set_span_in_context(span))
    return carrier() if fallback is None else fallback


def from_headers(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The context stored with an outbox row; None when it has none."""
    if not traceparent:
        return None
    stored = {"traceparent": traceparent} | ({"tracestate": tracestate} if tracestate else {})
    return propagate.extract(stored)


def _record_attributes(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
    }


@contextmanager
def _registered(spans: dict[str, Span], every: list[Span]) -> Iterator[None]:
    token = _ESCALATION_SPANS.set(spans)
    try:
        yield
    except BaseException as error:
        for span in every:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        _ESCALATION_SPANS.reset(token)
        for span in every:
            span.end()


@contextmanager
def consumed(
    service: str, records: Iterable[tuple[ConsumerRecord[bytes, bytes], UUID | str]]
) -> Iterator[None]:
    """A consumer span per record (``process <topic>``), continuing the trace in its headers
    and registered under the escalation it is about. A batch of one makes its span current, so
    the database spans join the escalation's trace; a larger batch gets one ``process batch``
    span, linked to every record's."""
    source = tracer(service)
    spans: dict[str, Span] = {}
    every: list[Span] = []
    for record, escalation_id in records:
        span = source.start_span(
            f"process {record.topic}",
            context=incoming(record),
            kind=SpanKind.CONSUMER,
            attributes=_record_attributes(record) | {"escalator.escalation_id": str(escalation_id)},
        )
        spans[str(escalation_id)] = span
        every.append(span)
    if not every:
        yield
        return
    current = every[0]
    if len(every) > 1:
        current = source.start_span(
            "process batch",
            context=Context(),
            kind=SpanKind.CONSUMER,
            links=[Link(span.get_span_context()) for span in every],
            attributes={"messaging.batch.message_count": len(every)},
        )
        every.append(current)
    with (
        _registered(spans, every),
        trace.use_span(
            current, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ),
    ):
        yield


@contextmanager
def escalations(
    service: str,
    accepted: Sequence[tuple[ConsumerRecord[bytes, bytes], ChatMessage]],
    detected: Sequence[EscalationDetected],
    start_time: int | None = None,
) -> Iterator[None]:
    """A span per detected escalation (``escalate``), child of its triggering record's
    context, begun at ``start_time`` (ns). Records that do not escalate pay nothing: a batch
    without escalations returns at once."""
    if not detected:
        yield
        return
    wanted = {event.trigger_message_id for event in detected}
    records = {chat.message_id: record for record, chat in accepted if chat.message_id in wanted}
    source = tracer(service)
    spans: dict[str, Span] = {}
    for event in detected:
        record = records.get(event.trigger_message_id)
        attributes = {
            "escalator.escalation_id": str(event.escalation_id),
            "escalator.trigger": event.trigger.kind,
            "escalator.urgency": event.urgency,
        }
        if record is not None:
            attributes |= _record_attributes(record)
        spans[str(event.escalation_id)] = source.start_span(
            "escalate",
            # An idle timeout has no record: it starts a trace of its own.
            context=incoming(record) if record is not None else Context(),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            start_time=start_time,
        )
    with _registered(spans, list(spans.values())):
        yield


@contextmanager
def delivery(
    service: str,
    name: str,
    traceparent: str | None,
    tracestate: str | None,
    attributes: Mapping[str, Any],
) -> Iterator[Span]:
    """The span of one delivery attempt from an outbox (an email, a webhook), continuing the
    trace of the event that planned it."""
    with tracer(service).start_as_current_span(
        name,
        context=from_headers(traceparent, tracestate) or Context(),
        kind=SpanKind.INTERNAL,
        attributes=dict(attributes),
    ) as span:
        yield span
