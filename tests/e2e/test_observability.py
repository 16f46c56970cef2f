"""Issue 9: one chat message, carrying a chat backend's ``traceparent``, through the five services
on the real broker and database. Its trace spans every hop (in-memory span exporter), its log
lines name the escalation and the trace without the customer's words, and each service's
``/metrics`` exposes the named series."""

import json
import logging
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from detector.main import create_app as create_detector
from detector.settings import DetectorSettings
from escalator_runtime import metrics
from escalator_runtime.config_store import new_webhook_secret
from escalator_runtime.telemetry import configure_tracing
from escalator_schemas import topics
from escalator_schemas.ids import escalation_id_for
from notifier.main import create_app as create_notifier
from queue_api.main import create_app as create_queue_api
from queue_api.settings import QueueApiSettings
from router.main import create_app as create_router
from router.settings import RouterSettings
from tests.notifier.pipeline import notifier_settings
from tests.notifier.smtp import SmtpServer
from tests.stack import (
    api_client,
    demo_config,
    eventually,
    now,
    producer,
    publish_config,
    running,
    tail,
    token,
)
from tests.webhook_dispatcher.harness import Received, dispatcher_settings, hook, receiving
from webhook_dispatcher.main import create_app as create_dispatcher

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SERVICES = ("detector", "router", "queue-api", "notifier", "webhook-dispatcher")
WORDS = "This is the third time it broke. I want a REFUND now."
WORDS_PART = "third time it broke"


@dataclass
class Observed:
    trace_id: int
    parent_span_id: int
    escalation_id: UUID
    conversation_id: str
    spans: list[ReadableSpan]
    logs: list[dict[str, Any]]
    raw_logs: list[str]
    exposition: dict[str, str]
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    webhook_requests: list[Received]
    routed_headers: dict[str, bytes]


class LogCapture(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def span_exporter() -> Iterator[InMemorySpanExporter]:
    provider = configure_tracing("tests")
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays; a shut exporter drops what it is given


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# The series each service must expose, with the labels that say it is that service's.
EXPECTED: dict[str, list[tuple[str, dict[str, str]]]] = {
    "detector": [
        ("escalator_messages_consumed_total", {"topic": topics.CHAT_MESSAGES}),
        ("escalator_dead_lettered_total", {"topic": topics.CHAT_MESSAGES}),
        ("escalator_batch_processing_seconds_count", {"topic": topics.CHAT_MESSAGES}),
        ("escalator_record_latency_seconds_count", {"topic": topics.CHAT_MESSAGES}),
    ],
    "router": [
        ("escalator_messages_consumed_total", {"topic": topics.ESCALATIONS_DETECTED}),
        ("escalator_batch_processing_seconds_count", {"topic": topics.ESCALATIONS_DETECTED}),
        ("escalator_record_latency_seconds_count", {"topic": topics.ESCALATIONS_DETECTED}),
    ],
    "queue-api": [
        ("escalator_messages_consumed_total", {"topic": topics.ESCALATIONS_ROUTED}),
        ("escalator_batch_processing_seconds_count", {"topic": topics.ESCALATIONS_ROUTED}),
    ],
    "notifier": [
        ("escalator_messages_consumed_total", {"topic": topics.ESCALATIONS_ROUTED}),
        ("escalator_deliveries_total", {"channel": "email", "outcome": "delivered"}),
    ],
    "webhook-dispatcher": [
        ("escalator_messages_consumed_total", {"topic": topics.ESCALATIONS_DETECTED}),
        ("escalator_deliveries_total", {"channel": "webhook", "outcome": "delivered"}),
    ],
}
UNLABELLED = [
    ("escalator_escalations_total", {"trigger": "keyword", "urgency": "high"}),
    ("escalator_time_to_claim_seconds_count", {"environment": "published"}),
    (
        "escalator_time_to_resolve_seconds_count",
        {"environment": "published", "outcome": "completed"},
    ),
]


def _key(name: str, labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def _before() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for service, series in EXPECTED.items():
        for name, labels in series:
            values[_key(name, labels | {"service": service})] = _sum(
                name, labels | {"service": service}
            )
    for name, labels in UNLABELLED:
        values[_key(name, labels)] = _sum(name, labels)
    return values


def _sum(name: str, labels: dict[str, str]) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.fixture(scope="module")
async def observed(
    kafka: str, database: str, span_exporter: InMemorySpanExporter
) -> AsyncIterator[Observed]:
    unique = secrets.token_hex(6)
    tenant, agent, conversation = f"t-{unique}", f"a-{unique}", f"c-{unique}"
    message_id = f"m-{unique}"
    trace_id, parent_span_id = secrets.randbits(128), secrets.randbits(64)
    traceparent = f"00-{trace_id:032x}-{parent_span_id:016x}-01"
    smtp = SmtpServer()
    smtp.start()
    with pytest.MonkeyPatch.context() as patch:
        # Consumer lag is refreshed every few seconds in production; here at once.
        patch.setattr(metrics, "LAG_REFRESH_SECONDS", 0.2)
        async with receiving() as receiver:
            config = demo_config(
                webhooks=[hook("all", receiver.url, new_webhook_secret(), ["escalation.detected"])]
            )
            await publish_config(database, tenant, agent, config)
            queue_settings = QueueApiSettings(
                kafka_bootstrap_servers=kafka, database_url=database, log_json=True
            )
            queue_api = create_queue_api(queue_settings)
            apps = {
                "detector": create_detector(
                    DetectorSettings(
                        kafka_bootstrap_servers=kafka, database_url=database, log_json=True
                    )
                ),
                "router": create_router(
                    RouterSettings(
                        kafka_bootstrap_servers=kafka, database_url=database, log_json=True
                    )
                ),
                "queue-api": queue_api,
                "notifier": create_notifier(
                    notifier_settings(kafka, database, smtp.port, log_json=True)
                ),
                "webhook-dispatcher": create_dispatcher(
                    dispatcher_settings(kafka, database, log_json=True)
                ),
            }
            before = _before()
            async with (
                running(*apps.values()),
                tail(kafka, topics.ESCALATIONS_ROUTED) as routed,
                producer(kafka) as send,
            ):
                capture = LogCapture(logging.getLogger().handlers[0].formatter)
                logging.getLogger().addHandler(capture)
                chat = {
                    "message_id": message_id,
                    "conversation_id": conversation,
                    "tenant_id": tenant,
                    "agent_id": agent,
                    "role": "customer",
                    "text": WORDS,
                    "sent_at": now().isoformat(),
                    "customer": {"id": "cus-1", "name": "Dana Reyes"},
                    "metadata": {"topic": "refund", "area": "order"},
                }
                key = conversation.encode()
                await send.send_and_wait(topics.CHAT_MESSAGES, b"{not json", key=key)
                await send.send_and_wait(
                    topics.CHAT_MESSAGES,
                    json.dumps(chat).encode(),
                    key=key,
                    headers=[("traceparent", traceparent.encode())],
                )
                escalation_id = escalation_id_for(
                    tenant, agent, "published", conversation, message_id
                )
                routed_records = await routed.wait_for_matching(lambda r: r.key == key, 1)
                await eventually(lambda: _async(bool(smtp.handler.for_escalation(escalation_id))))
                await eventually(lambda: _async(bool(receiver.requests)))
                bearer = token(queue_settings, "alice", tenant)
                async with api_client(queue_api, bearer) as client:
                    path = f"/api/v1/escalations/{escalation_id}"
                    await eventually(lambda: _status(client.get(path), 200))
                    assert (await client.post(f"{path}/claim")).status_code == 200
                    done = await client.post(f"{path}/complete", json={"resolution_note": "ok"})
                    assert done.status_code == 200

                def finished(name: str) -> bool:
                    return any(
                        span.name == name and span.context.trace_id == trace_id
                        for span in span_exporter.get_finished_spans()
                    )

                await eventually(lambda: _async(finished("send email") and finished("POST")))

                async def lag_everywhere() -> dict[str, str] | None:
                    texts = {}
                    for service, app in apps.items():
                        async with api_client(app) as client:
                            texts[service] = (await client.get("/metrics")).text
                    everywhere = all(
                        _lag_partitions(text, service) for service, text in texts.items()
                    )
                    return texts if everywhere else None

                exposition = await eventually(lag_everywhere)
                logging.getLogger().removeHandler(capture)
            smtp.stop()
            yield Observed(
                trace_id=trace_id,
                parent_span_id=parent_span_id,
                escalation_id=escalation_id,
                conversation_id=conversation,
                spans=[
                    s for s in span_exporter.get_finished_spans() if s.context.trace_id == trace_id
                ],
                logs=[json.loads(line) for line in capture.lines if line.startswith("{")],
                raw_logs=capture.lines,
                exposition=exposition,
                before=before,
                webhook_requests=receiver.requests,
                routed_headers=dict(routed_records[0].headers),
            )


async def _async(value: bool) -> bool:
    return value


async def _status(response: Any, status: int) -> bool:
    return bool((await response).status_code == status)


def _lag_partitions(exposition: str, service: str) -> set[tuple[str, str]]:
    """The partitions whose consumer lag ``service`` reports."""
    return {
        (sample.labels["topic"], sample.labels["partition"])
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "escalator_consumer_lag" and sample.labels.get("service") == service
    }


def _scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def _outline(spans: list[ReadableSpan]) -> str:
    """The trace as ``pytest -rP`` shows it: scope, span name and parent, in start order."""
    names = {span.context.span_id: span.name for span in spans}
    lines = []
    for span in sorted(spans, key=lambda span: span.start_time or 0):
        parent = span.parent.span_id if span.parent else None
        lines.append(f"{_scope(span):42} {span.name:30} <- {names.get(parent, parent)}")
    return "\n".join(lines)


def test_one_trace_spans_every_hop_from_the_chat_backends_traceparent(observed: Observed) -> None:
    sys.stdout.write(f"trace {observed.trace_id:032x}\n{_outline(observed.spans)}\n")
    by_scope: dict[str, list[str]] = {}
    for span in observed.spans:
        by_scope.setdefault(_scope(span), []).append(span.name)
    for service in SERVICES:
        assert f"escalator.{service}" in by_scope, f"no span of {service} in the trace: {by_scope}"

    escalate = next(s for s in observed.spans if s.name == "escalate")
    assert escalate.parent is not None
    assert escalate.parent.span_id == observed.parent_span_id  # the chat backend's span
    assert escalate.attributes is not None
    assert escalate.attributes["escalator.escalation_id"] == str(observed.escalation_id)
    assert "process escalations.detected" in by_scope["escalator.router"]
    assert "process escalations.routed" in by_scope["escalator.queue-api"]
    assert "send email" in by_scope["escalator.notifier"]
    assert "deliver webhook" in by_scope["escalator.webhook-dispatcher"]
    assert by_scope.get("opentelemetry.instrumentation.asyncpg"), "no database span in the trace"
    assert by_scope.get("opentelemetry.instrumentation.httpx") == ["POST"]

    # Kafka headers and the webhook request carry the trace on.
    assert f"{observed.trace_id:032x}" in observed.routed_headers["traceparent"].decode()
    assert f"{observed.trace_id:032x}" in observed.webhook_requests[0].headers["traceparent"]


def test_fastapi_requests_are_traced(
    span_exporter: InMemorySpanExporter, observed: Observed
) -> None:
    server_spans = [
        span
        for span in span_exporter.get_finished_spans()
        if _scope(span) == "opentelemetry.instrumentation.fastapi"
        and span.kind is trace.SpanKind.SERVER
    ]
    routes = {span.attributes.get("http.route") for span in server_spans if span.attributes}
    assert "/api/v1/escalations/{escalation_id}/claim" in routes
    assert "/metrics" not in routes  # scrapes and probes are not traced


def test_log_lines_name_the_escalation_and_its_trace_but_not_the_customers_words(
    observed: Observed,
) -> None:
    trace_id = f"{observed.trace_id:032x}"
    about = [
        line for line in observed.logs if line.get("escalation_id") == str(observed.escalation_id)
    ]
    events = {(line["service"], line["event"]) for line in about}
    assert {
        ("detector", "escalation detected"),
        ("router", "escalation routed"),
        ("queue-api", "escalation queued"),
        ("notifier", "email sent"),
        ("webhook-dispatcher", "webhook attempt"),
    } <= events, events
    traced = {"escalation detected", "escalation routed", "escalation queued", "email sent"}
    for line in about:
        if line["event"] in traced | {"webhook attempt"}:
            assert line["trace_id"] == trace_id, line
            assert line.get("conversation_id") == observed.conversation_id, line
    detected = next(line for line in about if line["event"] == "escalation detected")
    assert detected["text"] == "[redacted]"
    assert not [line for line in observed.raw_logs if WORDS_PART in line]


def test_each_service_exposes_the_named_series_after_traffic(observed: Observed) -> None:
    for service, series in EXPECTED.items():
        families = list(text_string_to_metric_families(observed.exposition[service]))
        for name, labels in series:
            wanted = labels | {"service": service}
            value = sum(
                sample.value
                for family in families
                for sample in family.samples
                if sample.name == name and wanted.items() <= sample.labels.items()
            )
            assert value > observed.before[_key(name, wanted)], (service, name, wanted)
        assert _lag_partitions(observed.exposition[service], service)
    families = list(text_string_to_metric_families(observed.exposition["queue-api"]))
    for name, labels in UNLABELLED:
        value = sum(
            sample.value
            for family in families
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )
        assert value > observed.before[_key(name, labels)], (name, labels)
