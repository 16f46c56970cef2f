"""Request dependencies every router shares.

All of them ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, which
for what is an attribute read cost a thread hop and two futex wake-ups per dependency per
request (about a fifth of queue-api's CPU with 50 supervisors claiming at once).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from faststream.kafka import KafkaBroker

from escalator_runtime.db import Pool
from queue_api.auth import CurrentPrincipal, Principal
from queue_api.hub import StreamHub
from queue_api.problems import Problem


async def get_pool(request: Request) -> Pool:
    pool: Pool = request.app.state.context.pool
    return pool


async def get_hub(request: Request) -> StreamHub | None:
    hub: StreamHub | None = getattr(request.app.state, "stream_hub", None)
    return hub


async def get_broker(request: Request) -> KafkaBroker:
    broker: KafkaBroker = request.app.state.context.broker
    return broker


PoolDep = Annotated[Pool, Depends(get_pool)]
HubDep = Annotated[StreamHub | None, Depends(get_hub)]
BrokerDep = Annotated[KafkaBroker, Depends(get_broker)]


def admin_only(refusal: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency letting admins through and answering anyone else 403 with ``refusal``."""

    async def require_admin(principal: CurrentPrincipal) -> Principal:
        if not principal.is_admin:
            raise Problem(403, refusal)
        return principal

    return require_admin
