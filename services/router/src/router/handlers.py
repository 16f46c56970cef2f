"""Wires ``escalations.detected`` to the routing decision and ``escalations.routed``, and
``escalations.lifecycle`` to the supervisors' workloads."""

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from pydantic import ValidationError

from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
    decode_records,
    publish_events,
)
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.events import (
    EscalationDetected,
    EscalationRouted,
    LifecycleEvent,
    lifecycle_event_adapter,
)
from router import repository
from router.service import matching, routed_event

SERVICE = "router"
log = structlog.get_logger(__name__)

ROUTED = Counter(
    "escalator_router_escalations", "Escalations routed", ["environment", "outcome", "replayed"]
)
LOAD_CHANGES = Counter(
    "escalator_router_lifecycle_applied", "Lifecycle events that changed a workload", ["event_type"]
)


async def candidates_of(
    configs: ConfigView, detections: Sequence[EscalationDetected]
) -> list[repository.Candidates]:
    """Who matches each escalation, by the configuration it was detected with (or newer)."""
    candidates = []
    for detected in detections:
        config = await configs.at_least(
            detected.tenant_id, detected.agent_id, detected.environment, detected.config_version
        )
        candidates.append(matching(config.config.supervisors if config else [], detected))
    return candidates


async def route_batch(
    pool: Pool, configs: ConfigView, detections: Sequence[EscalationDetected]
) -> list[EscalationRouted]:
    """Route a batch in one round trip however many escalations it holds (``repository.route``:
    decisions already taken are answered again, new ones taken and stored, atomically)."""
    candidates = await candidates_of(configs, detections)
    async with pool.acquire() as connection:
        decided = await repository.route(
            connection, list(zip(detections, candidates, strict=True)), datetime.now(UTC)
        )
    routed: list[EscalationRouted] = []
    for detected, (decision, again) in zip(detections, decided, strict=True):
        event = routed_event(detected, decision.matched_supervisors, decision.suggested_assignee)
        routed.append(event)
        ROUTED.labels(
            event.environment, "unrouted" if event.unrouted else "matched", str(again).lower()
        ).inc()
        log.info(
            "escalation routed",
            escalation_id=str(event.escalation_id),
            conversation_id=event.conversation_id,
            supervisors=[m.supervisor_id for m in event.matched_supervisors],
            suggested_assignee=event.suggested_assignee,
            replayed=again,
        )
    return routed


def decode_lifecycle(
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> tuple[list[LifecycleEvent], list[Rejected]]:
    accepted: list[LifecycleEvent] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            accepted.append(lifecycle_event_adapter.validate_json(record.value or b""))
        except ValidationError as error:
            reason = "; ".join(
                f"{'.'.join(str(part) for part in detail['loc']) or '(message)'}: {detail['msg']}"
                for detail in error.errors(include_url=False, include_input=False)[:10]
            )
            rejected.append(Rejected(record, reason, "validation_error"))
    return accepted, rejected


def register(
    broker: KafkaBroker, settings: ServiceSettings, pool: Pool, configs: ConfigView
) -> None:
    async def on_detected(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_DETECTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationDetected)
        if accepted:
            with tracing.consumed(SERVICE, ((r, d.escalation_id) for r, d in accepted)):
                # Decisions are committed before they are published: a crash in between
                # replays the batch, which publishes the same decisions again (same event ids).
                routed = await route_batch(pool, configs, [detected for _r, detected in accepted])
                await publish_events(broker, topics.ESCALATIONS_ROUTED, routed)
        await dead_letter(broker, SERVICE, rejected)

    async def on_lifecycle(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_LIFECYCLE).inc(len(records))
        accepted, rejected = decode_lifecycle(records)
        if accepted:
            async with pool.acquire() as connection, connection.transaction():
                for event in accepted:
                    if await repository.apply_lifecycle(connection, event):
                        LOAD_CHANGES.labels(event.event_type).inc()
                        log.info(
                            "workload changed",
                            escalation_id=str(event.escalation_id),
                            conversation_id=event.conversation_id,
                            event_type=event.event_type,
                        )
        await dead_letter(broker, SERVICE, rejected)

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_DETECTED, **batch_subscription(settings, SERVICE))(
        on_detected
    )
    broker.subscriber(topics.ESCALATIONS_LIFECYCLE, **batch_subscription(settings, SERVICE))(
        on_lifecycle
    )
