"""Wires ``chat.messages`` and ``chat.handoffs`` to the engine, and runs the idle timer."""

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Histogram

from detector import repository
from detector.engine import BatchOutcome, Inbound, evaluate_batch, evaluate_in_parts
from detector.escalations import detected_event, handoff_command
from detector.language import LanguageJudge
from detector.policy import idle_decision, resume
from detector.settings import DetectorSettings
from detector.state import ConversationKey
from detector.store import StateStore
from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    batch_subscription,
    dead_letter,
    decode_records,
    publish_events,
)
from escalator_runtime.periodic import Periodic
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics
from escalator_schemas.chat import ChatMessage, Environment
from escalator_schemas.events import EscalationDetected, HandoffCommand

SERVICE = "detector"
log = structlog.get_logger(__name__)

UNKNOWN_AGENT = Counter(
    "escalator_detector_unknown_agent", "Messages for agents with no configuration", ["environment"]
)
ESCALATIONS = Counter(
    "escalator_escalations", "Escalations detected", ["trigger", "urgency", "environment"]
)
DUPLICATES = Counter("escalator_detector_duplicates", "Redelivered chat messages ignored")
JUDGED = Counter("escalator_detector_judged", "Customer messages judged", ["model"])
MODEL_SKIPPED = Counter(
    "escalator_detector_model_skipped",
    "Open decisions settled by the lexical cues without the model, by why: keyword (escalated"
    " anyway), backlog (the message was late), budget (model time spent), off, failed",
    ["reason"],
)
STALE_STATES = Counter(
    "escalator_detector_stale_states",
    "Conversation states written by someone else (the idle timer, a resume, another instance)"
    " between a batch's read and its save: read again and decided anew",
)
BATCH_SECONDS = Histogram(
    "escalator_detector_batch_seconds", "Time to decide and publish one batch of messages"
)


def _with_config(
    accepted: Sequence[tuple[ConsumerRecord[bytes, bytes], ChatMessage]],
    configs: ConfigView,
    read_at: float,
) -> list[Inbound]:
    """The messages whose agent has a configuration, each with how long it waited in the topic
    (``read_at`` and the records' timestamps are wall-clock seconds)."""
    inbound = []
    for record, message in accepted:
        config = configs.get(message.tenant_id, message.agent_id, message.environment)
        if config is None:
            UNKNOWN_AGENT.labels(message.environment).inc()
            log.warning(
                "no escalation config for agent",
                tenant_id=message.tenant_id,
                agent_id=message.agent_id,
                environment=message.environment,
            )
            continue
        inbound.append(Inbound(message, config, max(0.0, read_at - record.timestamp / 1000)))
    return inbound


async def _publish(
    broker: KafkaBroker, detected: list[EscalationDetected], handoffs: list[HandoffCommand]
) -> None:
    # Both topics at once: one wait for the broker's acknowledgements, not two.
    await asyncio.gather(
        publish_events(broker, topics.ESCALATIONS_DETECTED, detected),
        publish_events(broker, topics.CHAT_HANDOFFS, handoffs),
    )
    for event in detected:
        ESCALATIONS.labels(event.trigger.kind, event.urgency, event.environment).inc()
        log.info(
            "escalation detected",
            escalation_id=str(event.escalation_id),
            conversation_id=event.conversation_id,
            trigger=event.trigger.kind,
            urgency=event.urgency,
            category=event.category,
            # Masked unless LOG_MESSAGE_TEXT allows chat texts in the logs.
            text=event.transcript[-1].text if event.transcript else None,
        )


async def decide_in_parts(
    store: StateStore, inbound: Sequence[Inbound], judge: LanguageJudge
) -> AsyncGenerator[BatchOutcome, None]:
    """Apply a batch to its conversations' states and save them, in up to two parts
    (``evaluate_in_parts``): the conversations the cheap signals settle, then those waiting
    on the model. Each part is saved before it is yielded. Conversations someone else wrote
    meanwhile (``StateStore.save``) are read again and their messages decided anew, so what is
    yielded was decided from the states as stored."""
    keys = [ConversationKey.of(item.message) for item in inbound]
    try:
        states = await store.load(keys)
        async for part, decided in evaluate_in_parts(inbound, states, judge):
            outcome = decided
            changed = await store.save({k: s for k, s in states.items() if k in part})
            while changed:
                STALE_STATES.inc(len(changed))
                again = [item for item, key in zip(inbound, keys, strict=True) if key in changed]
                fresh = await store.load(changed)
                redone = await evaluate_batch(again, fresh, judge)
                outcome = outcome.without(changed).merged(redone)
                changed = await store.save(fresh)
            yield outcome
    except BaseException:
        store.forget(keys)
        raise


async def decide(
    store: StateStore, inbound: Sequence[Inbound], judge: LanguageJudge
) -> BatchOutcome:
    """``decide_in_parts``, all parts at once."""
    outcome = BatchOutcome()
    async with aclosing(decide_in_parts(store, inbound, judge)) as parts:
        async for part in parts:
            outcome = outcome.merged(part)
    return outcome


def register(
    broker: KafkaBroker,
    settings: ServiceSettings,
    store: StateStore,
    configs: ConfigView,
    judge: LanguageJudge,
    consumers: int = 1,
) -> None:
    async def detect(
        inbound: list[Inbound],
        accepted: Sequence[tuple[ConsumerRecord[bytes, bytes], ChatMessage]],
        started: int,
    ) -> None:
        """Decide a batch and save its conversations' states, then publish what it decided:
        what the cheap signals settle first, what waits on the model after it."""
        with BATCH_SECONDS.time():
            async with aclosing(decide_in_parts(store, inbound, judge)) as parts:
                async for outcome in parts:
                    # Published after the states are saved: a crash in between replays the
                    # batch, whose messages the saved states have seen; they publish the same
                    # events again.
                    with tracing.escalations(SERVICE, accepted, outcome.detected, started):
                        await _publish(broker, outcome.detected, outcome.handoffs)
                    store.published(ConversationKey.of(event) for event in outcome.detected)
                    DUPLICATES.inc(outcome.duplicates)
                    JUDGED.labels("no").inc(outcome.judged - outcome.judged_with_model)
                    JUDGED.labels("yes").inc(outcome.judged_with_model)
                    for reason, count in outcome.model_skipped.items():
                        MODEL_SKIPPED.labels(reason).inc(count)

    async def on_chat_messages(records: Records) -> None:
        started = time.time_ns()
        MESSAGES_CONSUMED.labels(SERVICE, topics.CHAT_MESSAGES).inc(len(records))
        accepted, rejected = decode_records(records, ChatMessage)
        await configs.settled()
        inbound = _with_config(accepted, configs, started / 1e9)
        if inbound:
            await detect(inbound, accepted, started)
        await dead_letter(broker, SERVICE, rejected)

    async def on_handoffs(records: Records) -> None:
        MESSAGES_CONSUMED.labels(SERVICE, topics.CHAT_HANDOFFS).inc(len(records))
        accepted, rejected = decode_records(records, HandoffCommand)
        resumes = {
            ConversationKey(c.tenant_id, c.agent_id, c.environment.value, c.conversation_id): c
            for _record, c in accepted
            if c.kind == "resume_ai"
        }
        if resumes:
            store.forget(resumes)
            async with store.pool.acquire() as connection, connection.transaction():
                states = await repository.lock_states(connection, resumes)
                for key, state in states.items():
                    # A late resume for an older escalation must not un-pause a newer one.
                    if state.escalation_id in (None, resumes[key].escalation_id):
                        resume(state)
                        log.info("AI resumed", conversation_id=key.conversation_id)
                await repository.save_states(connection, states)
        await dead_letter(broker, SERVICE, rejected)

    # Several consumers of one group: a conversation stays on one partition, so on one
    # consumer, and its messages are still handled one batch after another, in order.
    for _consumer in range(consumers):
        broker.subscriber(topics.CHAT_MESSAGES, **batch_subscription(settings, SERVICE))(
            on_chat_messages
        )
    broker.subscriber(topics.CHAT_HANDOFFS, **batch_subscription(settings, SERVICE))(on_handoffs)


async def sweep_idle(
    broker: KafkaBroker, store: StateStore, configs: ConfigView, now: datetime
) -> int:
    """Escalate every conversation whose customer has waited past the idle timeout."""
    async with store.pool.acquire() as connection, connection.transaction():
        states = await repository.lock_idle(connection, now, limit=200)
        store.forget(states)
        detected, handoffs = [], []
        for key, state in states.items():
            config = configs.get(key.tenant_id, key.agent_id, Environment(key.environment))
            if config is None or not config.config.enabled:
                state.idle_deadline = None
                continue
            decision = idle_decision(state, now)
            if decision is None:
                state.idle_deadline = None
                continue
            event = detected_event(key, state, decision, config, now)
            detected.append(event)
            handoffs.append(handoff_command(event, config))
        with tracing.escalations(SERVICE, (), detected):
            await _publish(broker, detected, handoffs)
        await repository.save_states(connection, states)
    return len(detected)


def idle_timer(
    broker: KafkaBroker, store: StateStore, configs: ConfigView, settings: DetectorSettings
) -> Periodic:
    """The idle timeout's clock (``async with``): deadlines live in PostgreSQL, so a restart
    loses none. Each tick escalates every conversation past its deadline and, once an hour,
    forgets conversations untouched for ``state_retention_days``."""
    last_cleanup = datetime.min.replace(tzinfo=UTC)

    async def tick() -> None:
        nonlocal last_cleanup
        now = datetime.now(UTC)
        while await sweep_idle(broker, store, configs, now) > 0:
            now = datetime.now(UTC)
        if now - last_cleanup > timedelta(hours=1):
            async with store.pool.acquire() as connection:
                forgotten = await repository.forget_idle_conversations(
                    connection, now - timedelta(days=settings.state_retention_days)
                )
            last_cleanup = now
            if forgotten:
                log.info("conversation states forgotten", count=forgotten)

    return Periodic("idle-timer", tick, settings.idle_sweep_seconds)
