"""Background work done now and then every so often, in a task of its own: sweepers, timers,
metric refreshers. Started and stopped explicitly, or as an ``async with`` block."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Self

import structlog

log = structlog.get_logger(__name__)


async def cancel_and_wait(task: "asyncio.Task[object] | None") -> None:
    """Cancel a background task (if any) and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Periodic:
    """Runs ``work`` at ``start`` and then every ``interval_seconds`` until ``stop``. A failure
    is logged and the work tried again at the next tick: it never ends the loop."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], interval_seconds: float
    ) -> None:
        self._name = name
        self._work = work
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self._work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background work failed; retrying", task=self._name)
            await asyncio.sleep(self._interval)
