"""The HTTP client webhooks go out through, guarded against server-side request forgery.

A receiver's host name is resolved once, when the connection is opened; every address it
resolves to is judged (``addresses.refusal_reason``) and the connection is made to the address
that was judged, so a second, different answer (DNS rebinding) is never used. httpx still sees
the original URL: the ``Host`` header, TLS SNI and certificate check use the receiver's name, and
pooled connections are keyed by it. Proxies from the environment are ignored (they would connect
on our behalf to wherever they like), and redirects are never followed.
"""

import asyncio
import socket
from collections.abc import Iterable, Sequence

import httpcore
import httpx

from webhook_dispatcher.addresses import Network, refusal_reason

USER_AGENT = "Escalator-Webhooks/1.0 (+https://www.standardwebhooks.com)"


class TargetRefused(Exception):
    """The receiver's address is not one webhooks may be sent to."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, judges, and connects to exactly the address judged."""

    def __init__(self, allowed: Sequence[Network], inner: httpcore.AsyncNetworkBackend) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner

    async def _resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await self._resolve(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        # One refused address refuses the name: a receiver never needs an internal one.
        for address in addresses:
            if reason := refusal_reason(address, self._allowed):
                shown = reason if address == host else f"{host}: {reason}"
                raise TargetRefused(shown)
        last_error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.001)
            try:
                return await self._inner.connect_tcp(
                    address, port, remaining, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("unix sockets are not webhook receivers")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allowed: Sequence[Network], limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # The same pool httpx builds, with the guarded backend underneath.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allowed, httpcore.AnyIOBackend()),
        )


def webhook_client(
    allowed: Sequence[Network], connect_timeout: float, total_timeout: float, max_connections: int
) -> httpx.AsyncClient:
    """The one client every delivery goes through (the total deadline is enforced around each
    request by the sender; these are the per-phase limits below it)."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(allowed, limits),
        timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
