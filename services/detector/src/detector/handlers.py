"""Wires ``chat.messages`` and ``chat.handoffs`` to the engine, and runs the idle timer."""

import asyncio
import time
from collections.abc import AsyncGenerator, Collection, Container, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

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
from detector.waits import ModelWaits
from escalator_runtime import tracing
from escalator_runtime.config_store import ConfigView
from escalator_runtime.kafka import (
    MESSAGES_CONSUMED,
    Records,
    Rejected,
    batch_subscription,
    dead_letter,
    decode_records,
    publish_events,
)
from escalator_runtime.periodic import Periodic
from escalator_runtime.redelivery import is_transient, until_done
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
    "escalator_detector_batch_seconds",
    "Time to decide and publish one batch of messages, but for its conversations waiting on"
    " the language model",
)
MODEL_PART_SECONDS = Histogram(
    "escalator_detector_model_part_seconds",
    "Time to decide and publish a batch's conversations waiting on the language model, from"
    " the handler's return",
)


Accepted = Sequence[tuple[ConsumerRecord[bytes, bytes], ChatMessage]]
"""A batch's valid records, with their messages."""

Read = list[tuple[ConsumerRecord[bytes, bytes], Inbound]]
"""A batch's messages to decide (their agent has a configuration), with their records."""


def _with_config(accepted: Accepted, configs: ConfigView, read_at: float) -> Read:
    """The messages whose agent has a configuration, each with its record and how long it
    waited in the topic (``read_at`` and the records' timestamps are wall-clock seconds)."""
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
        waited = max(0.0, read_at - record.timestamp / 1000)
        inbound.append((record, Inbound(message, config, waited)))
    return inbound


def _split(inbound: Read, keys: Container[ConversationKey]) -> tuple[Read, Read]:
    """``inbound``'s messages of the conversations ``keys``, and the others."""
    ours: Read = []
    others: Read = []
    for record, item in inbound:
        (ours if ConversationKey.of(item.message) in keys else others).append((record, item))
    return ours, others


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
) -> AsyncGenerator[tuple[BatchOutcome, set[ConversationKey]], None]:
    """Apply a batch to its conversations' states and save them, in up to two parts
    (``evaluate_in_parts``): first, always, the conversations the cheap signals settle; then
    those waiting on the model, if any. Each part is saved before it is yielded, with the
    conversations still to be decided after it. Conversations someone else wrote meanwhile
    (``StateStore.save``) are read again and their messages decided anew, so what is yielded
    was decided from the states as stored."""
    keys = [ConversationKey.of(item.message) for item in inbound]
    rest = set(keys)
    try:
        states = await store.load(keys)
        async for part, decided in evaluate_in_parts(inbound, states, judge):
            rest -= part
            outcome = decided
            changed = await store.save({k: s for k, s in states.items() if k in part})
            while changed:
                STALE_STATES.inc(len(changed))
                again = [item for item, key in zip(inbound, keys, strict=True) if key in changed]
                fresh = await store.load(changed)
                redone = await evaluate_batch(again, fresh, judge)
                outcome = outcome.without(changed).merged(redone)
                changed = await store.save(fresh)
            yield outcome, set(rest)
    except GeneratorExit:
        store.forget(rest)  # closed between parts: the saved ones stay as saved
        raise
    except BaseException:
        store.forget(keys)
        raise


async def decide(
    store: StateStore, inbound: Sequence[Inbound], judge: LanguageJudge
) -> BatchOutcome:
    """``decide_in_parts``, all parts at once."""
    outcome = BatchOutcome()
    async with aclosing(decide_in_parts(store, inbound, judge)) as parts:
        async for part, _rest in parts:
            outcome = outcome.merged(part)
    return outcome


@dataclass(frozen=True, slots=True)
class Polled:
    """A batch as the consumer handed it over: what every part of its handling, now or after
    the model, publishes for (``accepted`` and ``started`` for the traces) and holds
    (``records``' offsets)."""

    records: Records
    accepted: Accepted
    started: int
    """When the handler took it (ns since the epoch)."""


@dataclass
class ChatMessages:
    """The chat.messages handler: what the cheap signals settle is decided and published
    before the handler returns; the conversations waiting on the model are finished in a task
    of their own (``ModelWaits``), so the consumer goes on with its next batches."""

    broker: KafkaBroker
    store: StateStore
    configs: ConfigView
    judge: LanguageJudge
    waits: ModelWaits

    async def __call__(self, records: Records) -> None:
        started = time.time_ns()
        MESSAGES_CONSUMED.labels(SERVICE, topics.CHAT_MESSAGES).inc(len(records))
        accepted, rejected = decode_records(records, ChatMessage)
        await self.configs.settled()
        inbound = _with_config(accepted, self.configs, started / 1e9)
        if inbound:
            await self._detect(inbound, Polled(records, accepted, started))
        await dead_letter(self.broker, SERVICE, rejected)
        await self.waits.wait_if_too_far_ahead(len(records))

    async def _detect(self, inbound: Read, polled: Polled) -> None:
        busy = self.waits.busy(ConversationKey.of(item.message) for _record, item in inbound)
        if busy:
            # Conversations with a message still with the model: theirs follow it, in order.
            behind, inbound = _split(inbound, busy)
            self._in_background(
                busy, self._behind(set(busy.values()), behind, polled), behind, polled
            )
            if not inbound:
                return
        batch = [item for _record, item in inbound]
        with BATCH_SECONDS.time():
            parts = decide_in_parts(self.store, batch, self.judge)
            try:
                outcome, rest = await anext(parts)
                await self._publish_part(outcome, polled)
            except BaseException:
                await parts.aclose()
                raise
        if not rest:
            await parts.aclose()
            return
        later, _ = _split(inbound, rest)
        self._in_background(rest, self._rest_of(parts, polled), later, polled)

    def _in_background(
        self,
        keys: Collection[ConversationKey],
        work: Coroutine[Any, Any, None],
        later: Read,
        polled: Polled,
    ) -> None:
        """Leave ``work``, which decides ``later``'s messages (of the conversations ``keys``),
        to a task of its own (``ModelWaits``), decided again if it fails (``_recover``)."""
        self.waits.start(keys, polled.records, self._with_recovery(work, later, polled))

    async def _publish_part(self, outcome: BatchOutcome, polled: Polled) -> None:
        """Publish what a part of a batch decided, and count it."""
        # Published after the states are saved: a crash in between replays the batch, whose
        # messages the saved states have seen; they publish the same events again.
        with tracing.escalations(SERVICE, polled.accepted, outcome.detected, polled.started):
            await _publish(self.broker, outcome.detected, outcome.handoffs)
        self.store.published(ConversationKey.of(event) for event in outcome.detected)
        DUPLICATES.inc(outcome.duplicates)
        JUDGED.labels("no").inc(outcome.judged - outcome.judged_with_model)
        JUDGED.labels("yes").inc(outcome.judged_with_model)
        for reason, count in outcome.model_skipped.items():
            MODEL_SKIPPED.labels(reason).inc(count)

    async def _rest_of(
        self,
        parts: AsyncGenerator[tuple[BatchOutcome, set[ConversationKey]], None],
        polled: Polled,
    ) -> None:
        """The rest of a batch, once the model has read it."""
        async with aclosing(parts):
            async for outcome, _rest in parts:
                await self._publish_part(outcome, polled)

    async def _behind(self, tasks: set[asyncio.Task[None]], later: Read, polled: Polled) -> None:
        """Messages of conversations whose earlier ones were still with the model, once
        those are decided."""
        await asyncio.wait(tasks)
        outcome = await decide(self.store, [item for _record, item in later], self.judge)
        await self._publish_part(outcome, polled)

    async def _with_recovery(
        self, work: Coroutine[Any, Any, None], later: Read, polled: Polled
    ) -> None:
        """``work``, which decides and publishes ``later``'s messages; if it fails, ``later``
        is decided again (``_recover``)."""
        try:
            with MODEL_PART_SECONDS.time():
                await work
        except Exception as error:
            log.warning(
                "deciding after the model failed; trying again",
                error=f"{type(error).__name__}: {error}",
                messages=len(later),
            )
            await self._recover(error, later, polled)

    async def _recover(self, error: Exception, later: Read, polled: Polled) -> None:
        """``later``'s messages decided again after ``error``. Their batch cannot be read again
        (later ones were handled since), so this does what the consumers' middleware would
        (``redelivery``): an outage waited out, then each message alone, a few times, before
        it goes to the dead-letter topic."""

        async def again(messages: Sequence[Inbound]) -> None:
            outcome = await decide(self.store, messages, self.judge)
            await self._publish_part(outcome, polled)

        failed: Exception | None = error
        if is_transient(error):
            failed = await until_done(lambda: again([item for _record, item in later]), 1)
        if failed is None:
            return
        poisoned = []
        for record, item in later:
            failed = await until_done(partial(again, [item]))
            if failed is not None:
                poisoned.append(Rejected.failing(record, failed))
        await until_done(lambda: dead_letter(self.broker, SERVICE, poisoned))


def register(
    broker: KafkaBroker,
    settings: DetectorSettings,
    store: StateStore,
    configs: ConfigView,
    judge: LanguageJudge,
) -> ModelWaits:
    """Subscribe the handlers; returns the conversations left waiting on the model, which the
    service lets finish on shutdown (``ModelWaits.stop``)."""
    waits = ModelWaits(settings.model_read_ahead)
    chat_messages = ChatMessages(broker, store, configs, judge, waits)

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
    # Gathered by the broker (DETECTOR_BATCH_WAIT_MS): fewer, larger batches.
    gathered = batch_subscription(settings, SERVICE, gather_ms=settings.batch_wait_ms)
    for _consumer in range(settings.consumers):
        broker.subscriber(topics.CHAT_MESSAGES, **gathered)(chat_messages)
    broker.subscriber(topics.CHAT_HANDOFFS, **batch_subscription(settings, SERVICE))(on_handoffs)
    return waits


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
