"""The whole pipeline as separate processes (so any of them can be SIGKILLed), a real SMTP
server and a real webhook receiver at its ends, and what the chaos scenarios count."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from escalator_schemas import topics
from escalator_schemas.config import Supervisor
from tests.notifier.smtp import SmtpServer
from tests.stack import ServiceProcess, demo_config, eventually, publish_config
from tests.webhook_dispatcher.harness import Receiver, hook

SECRET = "whsec_" + "Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3M="

# Which topics each service's consumer group reads (its lag says whether it is done).
READS = {
    "detector": (topics.CHAT_MESSAGES, topics.CHAT_HANDOFFS),
    "router": (topics.ESCALATIONS_DETECTED, topics.ESCALATIONS_LIFECYCLE),
    "queue-api": (topics.ESCALATIONS_ROUTED,),
    "notifier": (topics.ESCALATIONS_ROUTED, topics.ESCALATIONS_LIFECYCLE),
    "webhook-dispatcher": (
        topics.ESCALATIONS_DETECTED,
        topics.ESCALATIONS_ROUTED,
        topics.ESCALATIONS_LIFECYCLE,
    ),
}
MODULES = {
    "detector": ("detector.main", "DETECTOR_PORT"),
    "router": ("router.main", "ROUTER_PORT"),
    "queue-api": ("queue_api.main", "QUEUE_API_PORT"),
    "notifier": ("notifier.main", "NOTIFIER_PORT"),
    "webhook-dispatcher": ("webhook_dispatcher.main", "WEBHOOK_DISPATCHER_PORT"),
}


def supervisors(unique: str) -> list[Supervisor]:
    return [
        Supervisor(id=name, name=name.title(), email=f"{name}-{unique}@example.com")
        for name in ("alice", "bob")
    ]


async def configure(
    database: str, tenant: str, agent: str, unique: str, receiver: Receiver, event_type: str
) -> None:
    """Keywords decide alone (no turn limit, no idle timeout within reach); two supervisors
    get an email per escalation; the receiver gets one webhook per ``event_type`` event."""
    await publish_config(
        database,
        tenant,
        agent,
        demo_config(
            max_ai_turns_before_escalation=50,
            idle_timeout_seconds=None,
            supervisors=supervisors(unique),
            webhooks=[hook("chaos", receiver.url, SECRET, [event_type])],
        ),
    )


@dataclass
class Pipeline:
    kafka: str
    database: str
    suffix: str
    smtp_port: int
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def env(self, service: str) -> dict[str, str]:
        common = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "DATABASE_URL": self.database,
            "KAFKA_GROUP_SUFFIX": self.suffix,
            "LOG_LEVEL": "INFO",
        }
        own = {
            # The lexical cues decide without the embedding model: the scenarios count
            # deliveries, not judgement, and two cores are shared by the whole suite.
            "detector": {"DETECTOR_JUDGE_USE_MODEL": "false"},
            "queue-api": {"QUEUE_API_OUTBOX_POLL_SECONDS": "0.5"},
            "notifier": {
                "NOTIFIER_SMTP_PORT": str(self.smtp_port),
                "NOTIFIER_POLL_SECONDS": "0.2",
                "NOTIFIER_RETRY_BASE_SECONDS": "0.2",
                "NOTIFIER_RETRY_MAX_SECONDS": "1.0",
            },
            "webhook-dispatcher": {
                "WEBHOOK_DISPATCHER_ALLOW_NETWORKS": "127.0.0.1/32",
                "WEBHOOK_DISPATCHER_POLL_INTERVAL_SECONDS": "0.2",
                "WEBHOOK_DISPATCHER_RETRY_SCHEDULE_SECONDS": "0,0.5,1,1,1,1,1,1",
                "WEBHOOK_DISPATCHER_RETRY_JITTER": "0",
                "WEBHOOK_DISPATCHER_CONFIG_REFRESH_SECONDS": "1",
            },
        }
        return common | own.get(service, {})

    def process(self, service: str) -> ServiceProcess:
        module, port_variable = MODULES[service]
        return ServiceProcess(module, self.env(service), port_variable)

    async def start(self, *services: str) -> None:
        fresh = {service: self.process(service) for service in services}
        self.processes.update(fresh)
        await asyncio.gather(*(process.start(within=120) for process in fresh.values()))

    async def restart(self, service: str) -> None:
        await self.start(service)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each running service process has used so far (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for service, process in self.processes.items():
            if process.process is None or process.process.poll() is not None:
                continue
            fields = Path(f"/proc/{process.process.pid}/stat").read_text().rsplit(")", 1)[1]
            utime, stime = fields.split()[11:13]
            used[service] = (int(utime) + int(stime)) / ticks
        return used

    def kill(self, service: str) -> None:
        self.processes[service].kill()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


@asynccontextmanager
async def pipeline(
    kafka: str, database: str, suffix: str, smtp: SmtpServer, *services: str
) -> AsyncIterator[Pipeline]:
    running = Pipeline(kafka, database, suffix, smtp.port)
    try:
        await running.start(*services)
        yield running
    finally:
        running.stop()


class Lag:
    """How far each service's consumer group is behind the end of the topics it reads."""

    def __init__(self, kafka: str, suffix: str) -> None:
        self._kafka = kafka
        self._suffix = suffix
        self._stack = AsyncExitStack()
        self.admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        # One consumer for the whole scenario: aiokafka can raise CancelledError when a
        # consumer is stopped right after it started (aio-libs/aiokafka#647).
        self.consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)

    async def __aenter__(self) -> "Lag":
        await self.admin.start()
        self._stack.push_async_callback(self.admin.close)
        await self.consumer.start()
        self._stack.push_async_callback(self.consumer.stop)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._stack.aclose()

    async def committed(self, service: str) -> dict[TopicPartition, int]:
        offsets = await self.admin.list_consumer_group_offsets(service + self._suffix)
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic in READS[service]}

    async def ends(self, topic_names: Iterable[str]) -> dict[TopicPartition, int]:
        partitions = [
            TopicPartition(spec.name, p)
            for spec in topics.ALL_TOPICS
            if spec.name in set(topic_names)
            for p in range(spec.partitions)
        ]
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(partitions)
        return ends

    async def read(self, since: dict[TopicPartition, int]) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record from the offsets ``since`` up to the current end of those partitions."""
        ends = await self.consumer.end_offsets(list(since))
        self.consumer.assign(list(since))
        for partition, offset in since.items():
            self.consumer.seek(partition, offset)
        records: list[ConsumerRecord[bytes, bytes]] = []

        async def at_end() -> bool:
            batches = await self.consumer.getmany(timeout_ms=200)
            records.extend(record for batch in batches.values() for record in batch)
            positions = [await self.consumer.position(tp) for tp in ends]
            return all(at >= end for at, end in zip(positions, ends.values(), strict=True))

        await eventually(at_end, within=30, interval=0)
        return records

    async def behind(self, services: Iterable[str]) -> dict[str, int]:
        """Records each service has not committed yet (0 everywhere: all caught up)."""
        result = {}
        for service in services:
            ends = await self.ends(READS[service])
            committed = await self.committed(service)
            result[service] = sum(end - committed.get(tp, 0) for tp, end in ends.items())
        return result
