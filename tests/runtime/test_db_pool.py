"""The services' connection pool serves whoever asked first (escalator_runtime.db): asyncpg's
own pool lets a task asking just as a connection comes back take it from the task that was
woken for it, which then queues again at the back — with 50 supervisors on a pool of 10,
some requests waited seconds while most were served at once."""

import asyncio
import json

import pytest

from escalator_runtime.db import create_pool

pytestmark = pytest.mark.integration

USERS, TURNS, CONNECTIONS = 50, 20, 10


async def test_no_one_is_overtaken_by_more_than_everyone_else_once(database: str) -> None:
    """Each of 50 users asks for a connection 20 times, with a query and some work between:
    in arrival order, while one user waits, each other user is served at most once before it
    (49 overtakes at most). asyncpg's own pool lets some wait through hundreds."""
    pool = await create_pool(database, CONNECTIONS)
    granted = worst = 0

    async def user() -> None:
        nonlocal granted, worst
        for _ in range(TURNS):
            asked = granted
            async with pool.acquire() as connection:
                worst = max(worst, granted - asked)
                granted += 1
                await connection.fetch("SELECT generate_series(1, 200)")
            json.dumps([{"n": n, "text": "x" * 50} for n in range(300)])  # a response to write

    try:
        await asyncio.gather(*(user() for _ in range(USERS)))
    finally:
        await pool.close()
    assert granted == USERS * TURNS
    assert worst <= USERS - 1
