"""Agent escalation configurations in PostgreSQL, and the live view services decide with.

queue-api writes (``save_draft``, ``publish``, or ``write_stage`` inside ``locked_agent``);
every change is recorded with who made it and announced with ``NOTIFY``. detector and router
hold a ``ConfigView``: all configurations in memory, refreshed within milliseconds by the
notification and, as a safety net for a missed notification, by a full reload every
``refresh_seconds``. Every instance reads the same committed rows, and a view never goes back
to an older version, so all of them converge on the newest one.
"""

import asyncio
import base64
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog

from escalator_runtime.db import Connection, Pool, apply_migrations, connect
from escalator_runtime.periodic import cancel_and_wait
from escalator_schemas.chat import Environment
from escalator_schemas.config import AgentConfigVersion, EscalationConfig, PlanTier

log = structlog.get_logger(__name__)

CHANNEL = "escalator_agent_config"
Stage = Literal["draft", "published"]

# pg_advisory_xact_lock(class, hashtext(agent_id)): writes of one agent id are serialized.
_AGENT_LOCK_CLASS = 7357


def stage_for(environment: Environment) -> Stage:
    return "draft" if environment is Environment.PREVIEW else "published"


async def migrate(pool: Pool) -> None:
    await apply_migrations(pool, "agent-configs", "escalator_runtime.migrations")


# --- webhook secrets -------------------------------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format, not a secret
MASK = "*"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def mask_secret(secret: str) -> str:
    """All but the last 4 characters replaced by ``*``."""
    return MASK * max(len(secret) - 4, 0) + secret[-4:]


def is_masked(value: str) -> bool:
    return MASK in value


def _masked_webhooks(webhooks: Any) -> Any:
    if not isinstance(webhooks, list):
        return webhooks
    return [
        {**hook, "secret": mask_secret(hook["secret"])}
        if isinstance(hook, dict) and isinstance(hook.get("secret"), str)
        else hook
        for hook in webhooks
    ]


# --- storage ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """One stage of an agent's configuration as stored, with who wrote it and when."""

    tenant_id: str
    agent_id: str
    stage: Stage
    version: int
    config: EscalationConfig
    updated_at: datetime
    updated_by: str

    def as_version(self) -> AgentConfigVersion:
        return AgentConfigVersion(
            tenant_id=self.tenant_id,
            agent_id=self.agent_id,
            version=self.version,
            config=self.config,
        )


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One entry of an agent's configuration history. Webhook secrets are masked."""

    id: int
    stage: Stage
    version: int
    action: Literal["save", "publish"]
    changed_by: str
    changed_at: datetime
    changes: dict[str, Any]


class VersionMismatch(Exception):
    """The stored version is not the one the writer based its change on."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the current version is {current}")
        self.current = current


def _diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    before = before or {}
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }


def _recorded_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """The diff as stored in the history: secrets are compared in full but never recorded."""
    changes = _diff(before, after)
    if "webhooks" in changes:
        changes["webhooks"] = {
            side: _masked_webhooks(value) for side, value in changes["webhooks"].items()
        }
    return changes


async def load(
    connection: Connection | Pool,
    tenant_id: str,
    agent_id: str,
    stage: Stage,
) -> AgentConfigVersion | None:
    stored = await load_stored(connection, tenant_id, agent_id, stage)
    return stored.as_version() if stored else None


async def load_stored(
    connection: Connection | Pool, tenant_id: str, agent_id: str, stage: Stage
) -> StoredConfig | None:
    row = await connection.fetchrow(
        "SELECT version, config, updated_at, updated_by FROM agent_configs"
        " WHERE tenant_id = $1 AND agent_id = $2 AND stage = $3",
        tenant_id,
        agent_id,
        stage,
    )
    if row is None:
        return None
    return StoredConfig(
        tenant_id=tenant_id,
        agent_id=agent_id,
        stage=stage,
        version=row["version"],
        config=EscalationConfig.model_validate(row["config"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


@contextlib.asynccontextmanager
async def locked_agent(pool: Pool, agent_id: str) -> AsyncIterator[Connection]:
    """A transaction holding the write lock of ``agent_id``: what is read in it stays current
    until it commits, so version checks and ownership checks cannot race."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _AGENT_LOCK_CLASS, agent_id
        )
        yield connection


async def owned_by_another_tenant(
    connection: Connection | Pool, tenant_id: str, agent_id: str
) -> bool:
    """Whether another tenant configured ``agent_id`` first: agents belong to one tenant."""
    return bool(
        await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM agent_configs WHERE agent_id = $1 AND tenant_id <> $2)",
            agent_id,
            tenant_id,
        )
    )


async def tenant_plan_tier(connection: Connection | Pool, tenant_id: str) -> PlanTier | None:
    """The plan tier of the tenant's most recently saved configuration, if any."""
    value = await connection.fetchval(
        "SELECT config->>'plan_tier' FROM agent_configs WHERE tenant_id = $1"
        " ORDER BY updated_at DESC LIMIT 1",
        tenant_id,
    )
    try:
        return PlanTier(value) if value else None
    except ValueError:
        return None


async def write_stage(
    connection: Connection,
    tenant_id: str,
    agent_id: str,
    stage: Stage,
    config: EscalationConfig,
    actor: str,
    action: Literal["save", "publish"],
    expected_version: int | None = None,
) -> StoredConfig:
    """Write one stage, record the change and announce it; call inside ``locked_agent``.

    ``expected_version`` (0: never saved) raises ``VersionMismatch`` when another write came
    first.
    """
    document = config.model_dump(mode="json")
    before = await connection.fetchrow(
        "SELECT version, config FROM agent_configs"
        " WHERE tenant_id = $1 AND agent_id = $2 AND stage = $3 FOR UPDATE",
        tenant_id,
        agent_id,
        stage,
    )
    current = before["version"] if before else 0
    if expected_version is not None and expected_version != current:
        raise VersionMismatch(current)
    row = await connection.fetchrow(
        """
        INSERT INTO agent_configs (tenant_id, agent_id, stage, version, config, updated_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (tenant_id, agent_id, stage) DO UPDATE
        SET version = EXCLUDED.version, config = EXCLUDED.config,
            updated_at = now(), updated_by = EXCLUDED.updated_by
        RETURNING version, updated_at
        """,
        tenant_id,
        agent_id,
        stage,
        current + 1,
        document,
        actor,
    )
    assert row is not None  # noqa: S101 - INSERT ... RETURNING always answers a row
    await connection.execute(
        "INSERT INTO agent_config_changes"
        " (tenant_id, agent_id, stage, version, action, changed_by, changes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        agent_id,
        stage,
        row["version"],
        action,
        actor,
        _recorded_diff(before["config"] if before else None, document),
    )
    await connection.execute(
        "SELECT pg_notify($1, $2)",
        CHANNEL,
        json.dumps({"tenant_id": tenant_id, "agent_id": agent_id, "stage": stage}),
    )
    return StoredConfig(
        tenant_id=tenant_id,
        agent_id=agent_id,
        stage=stage,
        version=row["version"],
        config=config,
        updated_at=row["updated_at"],
        updated_by=actor,
    )


async def save_draft(
    pool: Pool, tenant_id: str, agent_id: str, config: EscalationConfig, actor: str
) -> AgentConfigVersion:
    async with locked_agent(pool, agent_id) as connection:
        stored = await write_stage(connection, tenant_id, agent_id, "draft", config, actor, "save")
    return stored.as_version()


async def publish(
    pool: Pool, tenant_id: str, agent_id: str, actor: str
) -> AgentConfigVersion | None:
    """Copy the draft to published; None when the agent has no draft."""
    async with locked_agent(pool, agent_id) as connection:
        draft = await load_stored(connection, tenant_id, agent_id, "draft")
        if draft is None:
            return None
        stored = await write_stage(
            connection, tenant_id, agent_id, "published", draft.config, actor, "publish"
        )
    return stored.as_version()


async def history(
    connection: Connection | Pool,
    tenant_id: str,
    agent_id: str,
    limit: int,
    before_id: int | None = None,
) -> list[ConfigChange]:
    """The agent's changes, newest first; ``before_id`` pages on to older ones."""
    rows = await connection.fetch(
        "SELECT id, stage, version, action, changed_by, changed_at, changes"
        " FROM agent_config_changes WHERE tenant_id = $1 AND agent_id = $2"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        tenant_id,
        agent_id,
        before_id,
        limit,
    )
    return [
        ConfigChange(
            id=row["id"],
            stage=row["stage"],
            version=row["version"],
            action=row["action"],
            changed_by=row["changed_by"],
            changed_at=row["changed_at"],
            changes=row["changes"],
        )
        for row in rows
    ]


# --- the live view ---------------------------------------------------------------------------


class ConfigView:
    """Every agent's configurations in memory, kept current from PostgreSQL."""

    def __init__(self, dsn: str, pool: Pool, refresh_seconds: float = 30.0) -> None:
        self._dsn = dsn
        self._pool = pool
        self._refresh_seconds = refresh_seconds
        self._configs: dict[tuple[str, str, Stage], AgentConfigVersion] = {}
        self._listener: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._reloads: set[asyncio.Task[None]] = set()
        # Keys read one by one while a full reload was under way: that reload may not have them.
        self._reloaded_since: set[tuple[str, str, Stage]] = set()
        self._changed = asyncio.Event()
        self.loaded = False

    def get(
        self, tenant_id: str, agent_id: str, environment: Environment
    ) -> AgentConfigVersion | None:
        return self._configs.get((tenant_id, agent_id, stage_for(environment)))

    async def at_least(
        self, tenant_id: str, agent_id: str, environment: Environment, version: int | None
    ) -> AgentConfigVersion | None:
        """The configuration, read again from PostgreSQL when the view holds one older than
        ``version`` (which another service already decided with): the notification that
        would have brought it may still be on its way."""
        current = self.get(tenant_id, agent_id, environment)
        if version is not None and (current is None or current.version < version):
            await self._reload_one(tenant_id, agent_id, stage_for(environment))
            current = self.get(tenant_id, agent_id, environment)
        return current

    async def settled(self) -> None:
        """Once every change notified so far has been read (returns at once when none is being
        read): a configuration published just before a message is then the one it meets, even
        when the notification reached this process only just ahead of the message."""
        while self._reloads:
            await asyncio.wait(set(self._reloads))

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="config-view")

    async def stop(self) -> None:
        for task in [self._task, *self._reloads]:
            await cancel_and_wait(task)
        await self._close_listener()

    def _keep_newest(self, key: tuple[str, str, Stage], fresh: AgentConfigVersion) -> None:
        # A read that started before a newer write may answer after it: never go back.
        current = self._configs.get(key)
        if current is None or current.version <= fresh.version:
            self._configs[key] = fresh

    async def reload(self) -> None:
        self._reloaded_since.clear()
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
        previous = self._configs
        self._configs = fresh
        for key, config in previous.items():
            if key in fresh or key in self._reloaded_since:
                self._keep_newest(key, config)
        self.loaded = True

    async def _reload_one(self, tenant_id: str, agent_id: str, stage: Stage) -> None:
        current = await load(self._pool, tenant_id, agent_id, stage)
        key = (tenant_id, agent_id, stage)
        if current is None:
            self._configs.pop(key, None)
        else:
            self._keep_newest(key, current)
        self._reloaded_since.add(key)
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
        self._reloads.add(task)
        task.add_done_callback(self._after_reload_one)

    def _after_reload_one(self, task: "asyncio.Task[None]") -> None:
        self._reloads.discard(task)
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
                    async with asyncio.timeout(self._refresh_seconds):
                        await self._changed.wait()
                self._changed.clear()
                await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config view refresh failed; retrying")
                await self._close_listener()
                await asyncio.sleep(1.0)
