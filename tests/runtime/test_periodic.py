"""The sweepers' loop: work at start and on every tick, a failure retried, stop ends it."""

import asyncio

from escalator_runtime.periodic import Periodic


async def test_a_failing_tick_is_retried_and_stop_ends_the_loop() -> None:
    calls = 0
    third = asyncio.Event()

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        if calls == 1:
            raise RuntimeError("database down")

    periodic = Periodic("test-sweeper", work, interval_seconds=0.01)
    await periodic.start()
    async with asyncio.timeout(5):
        await third.wait()
    await periodic.stop()
    stopped_at = calls
    await asyncio.sleep(0.05)
    assert stopped_at >= 3
    assert calls == stopped_at
