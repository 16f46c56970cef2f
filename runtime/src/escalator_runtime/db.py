"""PostgreSQL: the asyncpg pool and a small, locked, forward-only migration runner.

Each service owns its tables and ships its migrations as ``NNNN_name.sql`` files in a
``migrations`` package; they are applied at start-up under an advisory lock, so several replicas
starting at once apply each file exactly once.
"""

import asyncio
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import orjson
import structlog

log = structlog.get_logger(__name__)

_MIGRATION_LOCK = 7_357_735_001

# asyncpg's classes are generic only in its stubs; these aliases read the same to both.
if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Pool = asyncpg.Pool
    Connection = asyncpg.Connection


def _json_text(value: Any) -> str:
    # orjson: a batch of 350 chat messages is encoded in 0.23 ms instead of 1.5 ms.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


async def _init_connection(connection: Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog"
        )


async def _keep_session(_connection: Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: no code here leaves session
    state on a pooled connection (LISTEN has connections of its own, advisory locks are
    transaction-scoped or released explicitly), and asyncpg still rolls back an open
    transaction itself. Its default reset costs a round trip on every release."""


class _FairPool(asyncpg.Pool):
    """Connections handed out in the order they were asked for.

    asyncpg's pool wakes the first waiter when a connection comes back, but a task asking at
    that moment takes the connection first, and the waiter queues again at the back: with 50
    supervisors on a pool of 10, most requests were served at once and a few waited seconds.
    A semaphore (fair since Python 3.11.1) admits as many acquirers as there are connections,
    in arrival order, so none waits inside asyncpg's queue.
    """

    def __init__(self, *args: Any, max_size: int, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self._turns = asyncio.Semaphore(max_size)

    # asyncpg's own signatures: its ``acquire`` and ``release`` take the timeouts.
    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109
        await self._turns.acquire()
        try:
            return await super()._acquire(timeout)  # type: ignore[misc]
        except BaseException:
            self._turns.release()
            raise

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if getattr(connection, "_con", None) is None:
            await super().release(connection, timeout=timeout)  # already released: no turn
            return
        try:
            await super().release(connection, timeout=timeout)
        finally:
            self._turns.release()


async def create_pool(dsn: str, max_size: int = 10) -> Pool:
    # Built like asyncpg.create_pool builds its own (whose defaults the class wants spelled out).
    pool: Pool = await _FairPool(
        dsn,
        min_size=1,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=_init_connection,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=30,
    )
    return pool


async def connect(dsn: str) -> Connection:
    """A single connection with the same codecs as the pool's (for LISTEN)."""
    connection: Connection = await asyncpg.connect(dsn)
    await _init_connection(connection)
    return connection


def migration_files(package: str) -> list[tuple[str, str]]:
    """``(version, sql)`` of every migration in ``package``, in order."""
    files = [
        entry
        for entry in resources.files(package).iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    ]
    return [
        (entry.name.removesuffix(".sql"), entry.read_text("utf-8"))
        for entry in sorted(files, key=lambda entry: entry.name)
    ]


async def apply_migrations(pool: Pool, owner: str, package: str) -> list[str]:
    """Apply ``package``'s migrations not yet recorded for ``owner``; returns those applied."""
    applied_now: list[str] = []
    async with pool.acquire() as connection:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await connection.execute(
                """
                CREATE TABLE IF NOT EXISTS escalator_migrations (
                    owner text NOT NULL,
                    version text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner, version)
                )
                """
            )
            done = {
                row["version"]
                for row in await connection.fetch(
                    "SELECT version FROM escalator_migrations WHERE owner = $1", owner
                )
            }
            for version, sql in migration_files(package):
                if version in done:
                    continue
                async with connection.transaction():
                    await connection.execute(sql)
                    await connection.execute(
                        "INSERT INTO escalator_migrations (owner, version) VALUES ($1, $2)",
                        owner,
                        version,
                    )
                applied_now.append(version)
                log.info("migration applied", owner=owner, version=version)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now
