"""Kafka topic names of the public contract (CONTRACT.md §1), in one place."""

from dataclasses import dataclass

CHAT_MESSAGES = "chat.messages"
CHAT_HANDOFFS = "chat.handoffs"
ESCALATIONS_DETECTED = "escalations.detected"
ESCALATIONS_ROUTED = "escalations.routed"
ESCALATIONS_LIFECYCLE = "escalations.lifecycle"

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``: poison records land there with the reason."""
    return topic + DLQ_SUFFIX


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False


# Six partitions give room to scale each consumer group to six instances; the key is always
# conversation_id, so one conversation's messages stay in order on one partition.
_PARTITIONS = 6

CONTRACT_TOPICS: tuple[TopicSpec, ...] = tuple(
    TopicSpec(name, _PARTITIONS)
    for name in (
        CHAT_MESSAGES,
        CHAT_HANDOFFS,
        ESCALATIONS_DETECTED,
        ESCALATIONS_ROUTED,
        ESCALATIONS_LIFECYCLE,
    )
)

DLQ_TOPICS: tuple[TopicSpec, ...] = tuple(
    TopicSpec(dlq(spec.name), spec.partitions) for spec in CONTRACT_TOPICS
)

ALL_TOPICS: tuple[TopicSpec, ...] = CONTRACT_TOPICS + DLQ_TOPICS
