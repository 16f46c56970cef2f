"""The realtime hub: one per process, one ``LISTEN`` connection for all of it.

On a notification that a tenant's change feed moved, the hub reads the new changes once,
already serialized, and offers each to the subscriptions of that tenant that may see it. A poll
of the feed heads catches up after a missed notification (a lost listener connection).
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from itertools import groupby

import structlog
from prometheus_client import Gauge

from escalator_runtime.db import Connection, Pool, connect
from escalator_runtime.periodic import cancel_and_wait
from queue_api import changes
from queue_api.changes import Change
from queue_api.repository import Visibility

log = structlog.get_logger(__name__)

CONNECTIONS = Gauge("escalator_stream_connections", "Open realtime queue connections")

PAGE = 500
_PRUNE_EVERY_SECONDS = 600.0


class Subscription:
    """One connection's share of the hub: the changes it may see, in order."""

    def __init__(self, viewer: Visibility, feed: "TenantFeed", queue_size: int) -> None:
        self.viewer = viewer
        self.feed = feed
        self.queue: asyncio.Queue[Change] = asyncio.Queue(queue_size)
        self.overflowed = asyncio.Event()
        self.start = 0

    def offer(self, change: Change) -> None:
        if self.overflowed.is_set():
            return
        if not (self.viewer.admin or self.viewer.supervisor_id in change.audience):
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed.set()


class TenantFeed:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.head: int | None = None
        self.subscriptions: set[Subscription] = set()
        self.lock = asyncio.Lock()
        self.users = 0


class StreamHub:
    def __init__(
        self, pool: Pool, dsn: str, poll_seconds: float, queue_size: int, retention_hours: float
    ) -> None:
        self.pool = pool
        self._dsn = dsn
        self._poll_seconds = poll_seconds
        self._queue_size = queue_size
        self._retention_hours = retention_hours
        self._feeds: dict[str, TenantFeed] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self.origin = uuid.uuid4().hex
        """Signs the notifications of the changes this process writes: it announces those
        itself (``announce``) once committed, instead of reading them back when notified."""
        self._listener: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0
        self._next_poll = 0.0

    async def start(self) -> None:
        self._listener = await connect(self._dsn)
        await self._listener.add_listener(changes.CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._run(), name="stream-hub")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._close_listener()

    async def subscribe(self, viewer: Visibility) -> Subscription:
        feed = self._feeds.get(viewer.tenant_id)
        if feed is None:
            feed = self._feeds[viewer.tenant_id] = TenantFeed(viewer.tenant_id)
        feed.users += 1
        try:
            async with feed.lock:
                if feed.head is None:
                    feed.head = await changes.head(self.pool, feed.tenant_id)
                subscription = Subscription(viewer, feed, self._queue_size)
                subscription.start = feed.head
                feed.subscriptions.add(subscription)
        except BaseException:
            self._leave(feed)
            raise
        CONNECTIONS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.feed.subscriptions.discard(subscription)
        self._leave(subscription.feed)
        CONNECTIONS.dec()

    def _leave(self, feed: TenantFeed) -> None:
        feed.users -= 1
        if feed.users == 0 and self._feeds.get(feed.tenant_id) is feed:
            del self._feeds[feed.tenant_id]

    def _on_notify(self, _c: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            note = json.loads(str(payload))
            tenant_id, seq = str(note["tenant_id"]), int(note["seq"])
        except (ValueError, KeyError, TypeError):
            return
        if note.get("origin") == self.origin:
            return  # this process's own change: ``announce`` offers it
        feed = self._feeds.get(tenant_id)
        if feed is not None and (feed.head is None or seq > feed.head):
            self._dirty.add(tenant_id)
            self._wake.set()

    async def announce(self, committed: Sequence[Change]) -> None:
        """Offer changes this process just committed without waiting for their notification
        and reading them back. Only the changes that continue a feed right after its head are
        taken, in order; after a gap (another writer's change not seen yet) the feed catches
        up from the database, which the notification would have made it do anyway. A change
        this process wrote and never announced (it failed in between) is caught up by the next
        poll of the feed heads."""
        for tenant_id, group in groupby(committed, key=lambda change: change.tenant_id):
            feed = self._feeds.get(tenant_id)
            if feed is None:
                continue
            async with feed.lock:
                for change in group:
                    if feed.head is None or change.seq <= feed.head:
                        continue
                    if change.seq != feed.head + 1:
                        self._dirty.add(tenant_id)
                        self._wake.set()
                        break
                    for subscription in feed.subscriptions:
                        subscription.offer(change)
                    feed.head = change.seq

    async def _catch_up(self, feed: TenantFeed) -> None:
        async with feed.lock:
            if feed.head is None:
                return
            while True:
                batch = await changes.since(self.pool, feed.tenant_id, feed.head, PAGE)
                for change in batch:
                    for subscription in feed.subscriptions:
                        subscription.offer(change)
                    feed.head = change.seq
                if len(batch) < PAGE:
                    return

    async def _behind(self) -> set[str]:
        """Tenants whose feed is behind the database: a notification may have been missed."""
        if not self._feeds:
            return set()
        current = await changes.heads(self.pool, list(self._feeds))
        return {
            tenant_id
            for tenant_id, seq in current.items()
            if (feed := self._feeds.get(tenant_id)) is not None
            and feed.head is not None
            and seq > feed.head
        }

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
                    await self._listener.add_listener(changes.CHANNEL, self._on_notify)
                    self._dirty |= set(self._feeds)
                loop = asyncio.get_running_loop()
                if not self._dirty:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(self._next_poll - loop.time(), 0.0)):
                            await self._wake.wait()
                # The safety net runs on time even when notifications keep the hub busy.
                if loop.time() >= self._next_poll:
                    self._next_poll = loop.time() + self._poll_seconds
                    self._dirty |= await self._behind()
                    await self._prune()
                self._wake.clear()
                tenants, self._dirty = self._dirty, set()
                feeds = [feed for t in tenants if (feed := self._feeds.get(t)) is not None]
                await asyncio.gather(*(self._catch_up(feed) for feed in feeds))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stream hub failed; retrying")
                await self._close_listener()
                self._dirty |= set(self._feeds)
                await asyncio.sleep(1.0)

    async def _prune(self) -> None:
        if time.monotonic() - self._pruned_at < _PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        pruned = await changes.prune(self.pool, self._retention_hours)
        if pruned:
            log.info("change feed pruned", changes=pruned)
