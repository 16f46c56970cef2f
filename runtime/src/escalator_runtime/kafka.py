"""Kafka plumbing: the broker, batch decoding, dead-lettering, publishing events, topics."""

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal, TypedDict, TypeVar

import structlog
from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from escalator_runtime import commits, tracing
from escalator_runtime.metrics import consume_metrics
from escalator_runtime.redelivery import ATTEMPTS, redelivery
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.events import EventEnvelope

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

MESSAGES_CONSUMED = Counter(
    "escalator_messages_consumed", "Kafka records consumed", ["service", "topic"]
)
DEAD_LETTERED = Counter(
    "escalator_dead_lettered", "Records sent to a dead-letter topic", ["service", "topic", "reason"]
)

JSON_HEADERS = {"content-type": "application/json"}


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """TLS and SASL for the broker connection, from the ``KAFKA_SECURITY_PROTOCOL`` family."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = (
        ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
        if protocol in {"SSL", "SASL_SSL"}
        else None
    )
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise ValueError(f"{protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    sasl = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }[settings.kafka_sasl_mechanism]
    return sasl(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=protocol == "SASL_SSL",
    )


GRACE_SECONDS = 10
"""How long a stopping service lets the work under way finish: its HTTP requests, its
consumers' batches, work a handler left running (``ServiceContext.stopping``)."""


def make_broker(settings: ServiceSettings, service: str) -> KafkaBroker:
    """A broker whose producer waits for the leader's ack and never reorders retries, whose
    every consumed batch is measured (``escalator_batch_*`` metrics), and whose consumers commit
    in the background (``commits``)."""
    commits.INTERVAL_SECONDS = settings.kafka_commit_interval_ms / 1000
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        middlewares=[consume_metrics(service)],
        client_id=service,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.kafka_linger_ms,
        allow_auto_create_topics=False,
        request_timeout_ms=10_000,
        graceful_timeout=GRACE_SECONDS,
        logger=None,
        # Handlers take the batch's records as their one argument (``raw_batch``): no
        # dependency injection, whose context lookups run in a worker thread per batch (a
        # thread hop, futex wake-ups and ~10% of an idle-ish service's CPU).
        apply_types=False,
    )
    # A failed batch: an outage is waited out, a poison record dead-lettered (redelivery.py).
    broker.add_middleware(redelivery(service))
    return broker


_joining: dict[int, asyncio.Event] = {}
"""Subscribers (by ``id``) whose broker's consumers are still joining their groups, and what
is set once they all joined: until then none reads (``start_broker``)."""


async def start_broker(broker: KafkaBroker) -> None:
    """``broker.start()``, but its consumers join their groups together and read only once all
    joined. FastStream starts them one by one, each reading as soon as its group assigns it
    partitions: the first of a group (the detector has two) read a backlog alone until the next
    one's join rebalanced the group, a heartbeat later, and the next one read again what the
    first had not committed, while the service did not answer HTTP yet. Together they mostly
    join in one round; when the broker closes a round before the second consumer asked, the
    first one waits for the next round instead of reading."""
    await broker.connect()
    joined = asyncio.Event()
    subscribers = [id(subscriber) for subscriber in broker.subscribers]
    _joining.update(dict.fromkeys(subscribers, joined))
    try:
        await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))
    finally:
        joined.set()
        for subscriber in subscribers:
            del _joining[subscriber]
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True


async def _next_batch(
    self: BatchSubscriber, consumer: Any
) -> tuple[ConsumerRecord[bytes, bytes], ...]:
    """The next batch, as soon as a record is there.

    FastStream's own version sleeps ``batch_timeout_ms`` again after an empty poll although the
    poll itself already waited that long, so a record reaching an idle consumer waited up to
    that sleep for nothing; and to keep that sleep short, the poll had to be short too, waking
    every idle consumer a hundred times a second. Without the sleep the poll can wait long
    (``getmany`` returns the moment a record arrives) and an idle service stays idle.
    """
    joining = _joining.get(id(self))
    if joining is not None:
        await joining.wait()
    batches = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
    return tuple(chain.from_iterable(batches.values()))


BatchSubscriber.get_msg = _next_batch  # type: ignore[method-assign]


class BatchSubscription(TypedDict):
    group_id: str
    batch: Literal[True]
    max_records: int
    batch_timeout_ms: int
    fetch_max_wait_ms: int
    fetch_min_bytes: int
    auto_offset_reset: Literal["earliest"]
    heartbeat_interval_ms: int
    ack_policy: AckPolicy
    decoder: Callable[[StreamMessage[Any]], Awaitable[Any]]


HEARTBEAT_MS = 1_000
"""How often a consumer tells its group it is alive, and so how soon it learns that the group
rebalances (a replica joined or left, a service's consumers started): aiokafka's default is 3 s."""

GATHER_BYTES = 1 << 20
"""With a gathering wait: the broker answers a fetch early once this much is there."""


def batch_subscription(
    settings: ServiceSettings, group_id: str, gather_ms: int = 0
) -> BatchSubscription:
    """Subscriber options every consumer shares: a batch per poll, offsets committed only after
    the handler succeeded (on error the batch is re-read), the records handed to the handler
    undecoded as its one argument (``Records``).

    By default the broker answers a fetch as soon as a record is there. With ``gather_ms`` it
    holds each fetch that long (or until ``GATHER_BYTES`` are there): every message waits up to
    that much more, and a busy topic comes in fewer, larger batches, each of which costs its
    handler about as much as one message does."""
    return {
        "group_id": group_id + settings.kafka_group_suffix,
        "batch": True,
        "max_records": settings.kafka_batch_max_records,
        "batch_timeout_ms": settings.kafka_batch_timeout_ms,
        "fetch_max_wait_ms": gather_ms or settings.kafka_fetch_max_wait_ms,
        "fetch_min_bytes": GATHER_BYTES if gather_ms else 1,
        "auto_offset_reset": "earliest",
        "heartbeat_interval_ms": HEARTBEAT_MS,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "decoder": raw_batch,
    }


Records = tuple[ConsumerRecord[bytes, bytes], ...]
"""What a batch handler receives: the polled records, undecoded."""


async def raw_batch(message: StreamMessage[Any]) -> Records:
    """Hand the batch's records over undecoded: each one is validated on its own, so one bad
    record goes to the dead-letter topic instead of failing its neighbours."""
    records: Records = message.raw_message
    return records


@dataclass(frozen=True, slots=True)
class Rejected:
    record: ConsumerRecord[bytes, bytes]
    reason: str
    error_type: str

    @classmethod
    def failing(cls, record: ConsumerRecord[bytes, bytes], error: Exception) -> "Rejected":
        """A record whose handling failed ``redelivery.ATTEMPTS`` times, the last with
        ``error`` (a poison message)."""
        reason = f"failed {ATTEMPTS} times: {type(error).__name__}: {error}"
        return cls(record, reason[:4000], "processing_error")


def decode_records(
    records: Sequence[ConsumerRecord[bytes, bytes]], model: type[M]
) -> tuple[list[tuple[ConsumerRecord[bytes, bytes], M]], list[Rejected]]:
    """Validate every record against ``model``; invalid ones are returned with the reason."""
    accepted: list[tuple[ConsumerRecord[bytes, bytes], M]] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            accepted.append((record, model.model_validate_json(record.value or b"")))
        except ValidationError as error:
            rejected.append(Rejected(record, _describe(error), "validation_error"))
    return accepted, rejected


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False, include_input=False)[:10]:
        location = ".".join(str(part) for part in detail["loc"]) or "(message)"
        parts.append(f"{location}: {detail['msg']}")
    return "; ".join(parts)


async def dead_letter(broker: KafkaBroker, service: str, rejected: Iterable[Rejected]) -> int:
    """Copy each rejected record, byte for byte, to its topic's dead-letter topic.

    Handlers call it once the batch's valid records were handled: a batch that fails is
    handled again (whole after an outage, record by record after a poison record), and its
    invalid records are then dead-lettered in the run that succeeds, not in every run."""
    futures = []
    for item in rejected:
        record = item.record
        headers = {key: value.decode("utf-8", "replace") for key, value in record.headers or ()}
        headers |= {
            "x-error": item.reason[:4000],
            "x-error-type": item.error_type,
            "x-source-topic": record.topic,
            "x-source-partition": str(record.partition),
            "x-source-offset": str(record.offset),
            "x-service": service,
        }
        futures.append(
            await broker.publish(
                record.value or b"",
                topics.dlq(record.topic),
                key=record.key,
                headers=headers,
                no_confirm=True,
            )
        )
        DEAD_LETTERED.labels(service, record.topic, item.error_type).inc()
        log.warning(
            "record dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=item.reason,
        )
    await asyncio.gather(*futures)
    return len(futures)


def trace_headers() -> dict[str, str]:
    """W3C trace context of the current span, for the next Kafka hop."""
    return tracing.carrier()


async def publish_events(broker: KafkaBroker, topic: str, events: Iterable[EventEnvelope]) -> int:
    """Publish events keyed by conversation, waiting until the broker has them all. Each event
    carries the trace context of its escalation's span when the batch being handled has one
    (``tracing.consumed`` / ``tracing.escalations``), else the current one."""
    current = trace_headers()
    futures = [
        await broker.publish(
            event.model_dump_json().encode(),
            topic,
            key=event.conversation_id.encode(),
            headers=JSON_HEADERS
            | tracing.carrier_for(event.escalation_id, current)
            | {"event-type": event.event_type},
            no_confirm=True,
        )
        for event in events
    ]
    await asyncio.gather(*futures)
    return len(futures)


async def ensure_topics(
    bootstrap_servers: str,
    specs: Iterable[topics.TopicSpec] = topics.ALL_TOPICS,
    *,
    replication_factor: int = 1,
    security: BaseSecurity | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="escalator-admin",
        **parse_security(security),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        spec.name,
                        num_partitions=spec.partitions,
                        replication_factor=replication_factor,
                        topic_configs={"cleanup.policy": "compact"} if spec.compacted else {},
                    )
                    for spec in missing
                ]
            )
        return [spec.name for spec in missing]
    finally:
        await admin.close()
