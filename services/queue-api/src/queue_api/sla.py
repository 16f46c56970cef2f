"""Unclaimed escalations: past the agent's ``unclaimed_sla_seconds`` an escalation is offered to
every active supervisor of the agent (whatever their scopes) and ``escalation.sla_breached`` is
published, once per escalation.

The deadline is a column, so breaches survive restarts; a periodic sweeper takes overdue rows
with ``FOR UPDATE SKIP LOCKED``, so several replicas never breach one escalation twice.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg
import structlog

from escalator_runtime import config_store
from escalator_runtime.db import Connection, Pool
from escalator_runtime.periodic import Periodic
from escalator_schemas import topics
from escalator_schemas.chat import Environment
from escalator_schemas.config import EscalationConfig
from escalator_schemas.events import EscalationSlaBreached
from queue_api import changes, outbox, repository
from queue_api.changes import ChangeRecord
from queue_api.lifecycle import envelope

log = structlog.get_logger(__name__)

DEFAULT_SLA_SECONDS = int(EscalationConfig.model_fields["unclaimed_sla_seconds"].default)


async def _config(
    connection: Connection, tenant_id: str, agent_id: str, environment: str
) -> EscalationConfig | None:
    stage = config_store.stage_for(Environment(environment))
    stored = await config_store.load(connection, tenant_id, agent_id, stage)
    return stored.config if stored else None


def wider_offer(config: EscalationConfig | None, already: Iterable[str]) -> list[str]:
    """Active supervisors of the agent who cannot see the escalation yet."""
    if config is None:
        return []
    seen = set(already)
    return sorted({s.id for s in config.supervisors if s.active and s.id not in seen})


def breached_event(row: asyncpg.Record, offered_to: list[str]) -> EscalationSlaBreached:
    pending_since: datetime = row["pending_since"] or row["detected_at"]
    return EscalationSlaBreached(
        # Once per escalation: the id needs no discriminator.
        **envelope(row, "escalation.sla_breached", ""),
        pending_since=pending_since,
        unclaimed_seconds=max(int((datetime.now(UTC) - pending_since).total_seconds()), 0),
        offered_to=offered_to,
    )


async def sweep(pool: Pool, limit: int = 100) -> int:
    """Breach every overdue escalation (up to ``limit``); returns how many."""
    async with pool.acquire() as connection, connection.transaction():
        overdue = await repository.lock_overdue(connection, limit)
        records: list[ChangeRecord] = []
        events: list[EscalationSlaBreached] = []
        configs: dict[tuple[str, str, str], EscalationConfig | None] = {}
        for row in overdue:
            key = (row["tenant_id"], row["agent_id"], row["environment"])
            if key not in configs:
                configs[key] = await _config(connection, *key)
            config = configs[key]
            offered = wider_offer(config, row["visible_to"])
            updated = await repository.mark_sla_breached(connection, row["escalation_id"], offered)
            await repository.add_audit(
                connection,
                row["escalation_id"],
                "sla_breached",
                "system",
                {"offered_to": offered, "sla_seconds": row["sla_seconds"]},
            )
            events.append(breached_event(updated, offered))
            records.append(ChangeRecord(updated, "sla_breached"))
        if events:
            await outbox.enqueue(connection, topics.ESCALATIONS_LIFECYCLE, events)
            await changes.record(connection, records)
    for event in events:
        log.warning(
            "escalation SLA breached",
            escalation_id=str(event.escalation_id),
            conversation_id=event.conversation_id,
            offered_to=event.offered_to,
        )
    return len(events)


class SlaSweeper(Periodic):
    """Breaches overdue escalations every ``interval_seconds``, a batch at a time until none
    is left."""

    def __init__(self, pool: Pool, interval_seconds: float, batch_size: int = 100) -> None:
        super().__init__("sla-sweeper", self._sweep_all, interval_seconds)
        self._pool = pool
        self._batch_size = batch_size

    async def _sweep_all(self) -> None:
        while await sweep(self._pool, self._batch_size) >= self._batch_size:
            pass
