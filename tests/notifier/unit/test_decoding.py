"""Which lifecycle records the notifier acts on, ignores, or dead-letters."""

import json
from uuid import uuid4

from aiokafka import ConsumerRecord

from escalator_schemas import topics
from escalator_schemas.chat import Environment
from escalator_schemas.events import EscalationClaimed
from notifier.handlers import decode_breaches
from tests.notifier.events import routed_event, sla_breached, supervisor


def record(value: bytes, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topics.ESCALATIONS_LIFECYCLE,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"c",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=(),
    )


def test_breaches_are_decoded_other_events_ignored_and_garbage_dead_lettered() -> None:
    routed = routed_event("t", "c", [supervisor("alice", "Alice", "alice@example.com")])
    breach = sla_breached(routed, ["bob"])
    claimed = EscalationClaimed(
        event_id=uuid4(),
        tenant_id="t",
        agent_id="a",
        environment=Environment.PUBLISHED,
        escalation_id=routed.escalation_id,
        conversation_id="c",
        supervisor_id="alice",
    )
    invalid_breach = json.loads(breach.model_dump_json()) | {"unclaimed_seconds": -1}
    records = [
        record(breach.model_dump_json().encode(), 0),
        record(claimed.model_dump_json().encode(), 1),
        record(json.dumps({"event_type": "escalation.reopened", "x": 1}).encode(), 2),
        record(json.dumps({"event_type": "escalation.claimed"}).encode(), 3),
        record(json.dumps(invalid_breach).encode(), 4),
        record(b'{"event_type": "escalation.sla_br', 5),
        record(b"[1, 2]", 6),
    ]
    breaches, rejected = decode_breaches(records)
    assert breaches == [breach]
    assert [item.record.offset for item in rejected] == [4, 5, 6]
    assert "unclaimed_seconds" in rejected[0].reason
    assert all(item.error_type == "validation_error" for item in rejected)
