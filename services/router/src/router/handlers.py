"""Wires ``escalations.detected`` to the routing decision and ``escalations.routed``, and
``escalations.lifecycle`` to the supervisors' workloads."""

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter
from pydantic import ValidationError

from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.db import Connection, Pool
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Rejected,
    batch_records,
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
from router.service import matching, routed_event, suggest_assignee

SERVICE = "router"
log = structlog.get_logger(__name__)

ROUTED = Counter(
    "escalator_router_escalations", "Escalations routed", ["environment", "outcome", "replayed"]
)
LOAD_CHANGES = Counter(
    "escalator_router_lifecycle_applied", "Lifecycle events that changed a workload", ["event_type"]
)


async def route(
    connection: Connection, configs: ConfigView, detected: EscalationDetected
) -> EscalationRouted:
    """Decide a new escalation: who matches, and whom to suggest. The decision is stored so
    that a redelivery of the same detection is answered with exactly the same routing."""
    config = await configs.at_least(
        detected.tenant_id, detected.agent_id, detected.environment, detected.config_version
    )
    matches = matching(config.config.supervisors if config else [], detected)
    loads = await repository.workloads(
        connection,
        detected.tenant_id,
        detected.environment.value,
        [supervisor.id for supervisor, _match in matches],
    )
    suggested = suggest_assignee([supervisor for supervisor, _match in matches], loads)
    decision = await repository.record_decision(
        connection, routed_event(detected, [match for _s, match in matches], suggested)
    )
    if suggested is not None and decision.suggested_assignee == suggested:
        await repository.mark_assigned(
            connection,
            detected.tenant_id,
            detected.environment.value,
            suggested,
            datetime.now(UTC),
        )
    return routed_event(detected, decision.matched_supervisors, decision.suggested_assignee)


async def route_batch(
    pool: Pool, configs: ConfigView, detections: Sequence[EscalationDetected]
) -> list[EscalationRouted]:
    routed: list[EscalationRouted] = []
    async with pool.acquire() as connection, connection.transaction():
        known = await repository.decisions(
            connection, [detected.escalation_id for detected in detections]
        )
        for detected in detections:
            previous = known.get(detected.escalation_id)
            if previous is not None:
                event = routed_event(
                    detected, previous.matched_supervisors, previous.suggested_assignee
                )
            else:
                event = await route(connection, configs, detected)
                known[detected.escalation_id] = repository.Decision(
                    event.matched_supervisors, event.suggested_assignee
                )
            routed.append(event)
            ROUTED.labels(
                event.environment,
                "unrouted" if event.unrouted else "matched",
                str(previous is not None).lower(),
            ).inc()
            log.info(
                "escalation routed",
                escalation_id=str(event.escalation_id),
                conversation_id=event.conversation_id,
                supervisors=[m.supervisor_id for m in event.matched_supervisors],
                suggested_assignee=event.suggested_assignee,
                replayed=previous is not None,
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
    async def on_detected(message: KafkaMessage) -> None:
        records = batch_records(message)
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_DETECTED).inc(len(records))
        accepted, rejected = decode_records(records, EscalationDetected)
        if rejected:
            await dead_letter(broker, SERVICE, rejected)
        if not accepted:
            return
        with tracing.consumed(SERVICE, ((r, detected.escalation_id) for r, detected in accepted)):
            # Decisions are committed before they are published: a crash in between replays
            # the batch, which publishes the same decisions again (same event ids).
            routed = await route_batch(pool, configs, [detected for _r, detected in accepted])
            await publish_events(broker, topics.ESCALATIONS_ROUTED, routed)

    async def on_lifecycle(message: KafkaMessage) -> None:
        records = batch_records(message)
        MESSAGES_CONSUMED.labels(SERVICE, topics.ESCALATIONS_LIFECYCLE).inc(len(records))
        accepted, rejected = decode_lifecycle(records)
        if rejected:
            await dead_letter(broker, SERVICE, rejected)
        if not accepted:
            return
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

    # Registered by call, not as a decorator: FastStream's decorator is untyped for mypy.
    broker.subscriber(topics.ESCALATIONS_DETECTED, **batch_subscription(settings, SERVICE))(
        on_detected
    )
    broker.subscriber(topics.ESCALATIONS_LIFECYCLE, **batch_subscription(settings, SERVICE))(
        on_lifecycle
    )
