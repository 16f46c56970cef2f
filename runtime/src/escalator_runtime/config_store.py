"""Agent escalation configurations in PostgreSQL, and the live view services decide with.

queue-api writes (``save_draft``, ``publish``); every change is recorded with who made it and
announced with ``NOTIFY``. detector and router hold a ``ConfigView``: all configurations in
memory, refreshed within milliseconds by the notification and, as a safety net for a missed
notification, by a full reload every ``refresh_seconds``. Every instance reads the same
committed rows, so all of them agree on the version they decide with.
"""

import asyncio
import contextlib
import json
from typing import Any, Literal

import structlog

from escalator_runtime.db import Connection, Pool, apply_migrations, connect
from escalator_schemas.chat import Environment
from escalator_schemas.config import AgentConfigVersion, EscalationConfig

log = structlog.get_logger(__name__)

CHANNEL = "escalator_agent_config"
Stage = Literal["draft", "published"]


def stage_for(environment: Environment) -> Stage:
    return "draft" if environment is Environment.PREVIEW else "published"


async def migrate(pool: Pool) -> None:
    await apply_migrations(pool, "agent-configs", "escalator_runtime.migrations")


def _diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    before = before or {}
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }


async def load(
    connection: Connection | Pool,
    tenant_id: str,
    agent_id: str,
    stage: Stage,
) -> AgentConfigVersion | None:
    row = await connection.fetchrow(
        "SELECT version, config FROM agent_configs"
        " WHERE tenant_id = $1 AND agent_id = $2 AND stage = $3",
        tenant_id,
        agent_id,
        stage,
    )
    if row is None:
        return None
    return AgentConfigVersion(
        tenant_id=tenant_id,
        agent_id=agent_id,
        version=row["version"],
        config=EscalationConfig.model_validate(row["config"]),
    )


async def _write(
    connection: Connection,
    tenant_id: str,
    agent_id: str,
    stage: Stage,
    config: EscalationConfig,
    actor: str,
    action: Literal["save", "publish"],
) -> AgentConfigVersion:
    document = config.model_dump(mode="json")
    before = await connection.fetchrow(
        "SELECT version, config FROM agent_configs"
        " WHERE tenant_id = $1 AND agent_id = $2 AND stage = $3 FOR UPDATE",
        tenant_id,
        agent_id,
        stage,
    )
    version = (before["version"] if before else 0) + 1
    await connection.execute(
        """
        INSERT INTO agent_configs (tenant_id, agent_id, stage, version, config, updated_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (tenant_id, agent_id, stage) DO UPDATE
        SET version = EXCLUDED.version, config = EXCLUDED.config,
            updated_at = now(), updated_by = EXCLUDED.updated_by
        """,
        tenant_id,
        agent_id,
        stage,
        version,
        document,
        actor,
    )
    await connection.execute(
        "INSERT INTO agent_config_changes"
        " (tenant_id, agent_id, stage, version, action, changed_by, changes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        agent_id,
        stage,
        version,
        action,
        actor,
        _diff(before["config"] if before else None, document),
    )
    await connection.execute(
        "SELECT pg_notify($1, $2)",
        CHANNEL,
        json.dumps({"tenant_id": tenant_id, "agent_id": agent_id, "stage": stage}),
    )
    return AgentConfigVersion(
        tenant_id=tenant_id, agent_id=agent_id, version=version, config=config
    )


async def save_draft(
    pool: Pool, tenant_id: str, agent_id: str, config: EscalationConfig, actor: str
) -> AgentConfigVersion:
    async with pool.acquire() as connection, connection.transaction():
        return await _write(connection, tenant_id, agent_id, "draft", config, actor, "save")


async def publish(
    pool: Pool, tenant_id: str, agent_id: str, actor: str
) -> AgentConfigVersion | None:
    """Copy the draft to published; None when the agent has no draft."""
    async with pool.acquire() as connection, connection.transaction():
        draft = await load(connection, tenant_id, agent_id, "draft")
        if draft is None:
            return None
        return await _write(
            connection, tenant_id, agent_id, "published", draft.config, actor, "publish"
        )


class ConfigView:
    """Every agent's configurations in memory, kept current from PostgreSQL."""

    def __init__(self, dsn: str, pool: Pool, refresh_seconds: float = 30.0) -> None:
        self._dsn = dsn
        self._pool = pool
        self._refresh_seconds = refresh_seconds
        self._configs: dict[tuple[str, str, Stage], AgentConfigVersion] = {}
        self._listener: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.loaded = False

    def get(
        self, tenant_id: str, agent_id: str, environment: Environment
    ) -> AgentConfigVersion | None:
        return self._configs.get((tenant_id, agent_id, stage_for(environment)))

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="config-view")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()

    async def reload(self) -> None:
        rows = await self._pool.fetch(
            "SELECT tenant_id, agent_id, stage, version, config FROM agent_configs"
        )
        fresh: dict[tuple[str, str, Stage], AgentConfigVersion] = {}
        for row in rows:
            try:
                fresh[(row["tenant_id"], row["agent_id"], row["stage"])] = AgentConfigVersion(
                    tenant_id=row["tenant_id"],
                    agent_id=row["agent_id"],
                    version=row["version"],
                    config=EscalationConfig.model_validate(row["config"]),
                )
            except ValueError:
                log.exception("stored config is invalid", agent_id=row["agent_id"])
        self._configs = fresh
        self.loaded = True

    async def _reload_one(self, tenant_id: str, agent_id: str, stage: Stage) -> None:
        current = await load(self._pool, tenant_id, agent_id, stage)
        key = (tenant_id, agent_id, stage)
        if current is None:
            self._configs.pop(key, None)
        else:
            self._configs[key] = current
        log.info(
            "agent config changed",
            agent_id=agent_id,
            stage=stage,
            version=current.version if current else None,
        )

    def _on_notify(self, _c: object, _pid: int, _channel: str, payload: object) -> None:
        change = json.loads(str(payload))
        task = asyncio.get_running_loop().create_task(
            self._reload_one(change["tenant_id"], change["agent_id"], change["stage"])
        )
        task.add_done_callback(self._after_reload_one)

    def _after_reload_one(self, task: "asyncio.Task[None]") -> None:
        # A failed targeted reload falls back to a full one.
        if not task.cancelled() and task.exception() is not None:
            self._changed.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def _run(self) -> None:
        while True:
            try:
                if self._listener is None or self._listener.is_closed():
                    await self._close_listener()
                    self._listener = await connect(self._dsn)
                    await self._listener.add_listener(CHANNEL, self._on_notify)
                    # Whatever changed while nobody listened is picked up now.
                    await self.reload()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._refresh_seconds)
                self._changed.clear()
                await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config view refresh failed; retrying")
                await self._close_listener()
                await asyncio.sleep(1.0)
