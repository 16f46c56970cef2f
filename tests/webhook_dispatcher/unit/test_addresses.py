"""The SSRF guard: which addresses are refused, and that the connection goes to the address
that was judged (no second resolution, so no DNS rebinding)."""

from collections.abc import Iterable
from ipaddress import ip_network

import httpcore
import pytest

from webhook_dispatcher.addresses import refusal_reason
from webhook_dispatcher.transport import GuardedBackend, TargetRefused


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a refused target, not a bind
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.10", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", "IPv4-compatible"),
        ("2001:db8::1", "documentation"),
        ("fe80::1%eth0", "link-local"),
    ],
)
def test_internal_addresses_are_refused_with_the_reason(address: str, why: str) -> None:
    reason = refusal_reason(address)
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(address) is None


def test_the_operator_allow_list_opens_exactly_its_networks() -> None:
    allowed = [ip_network("127.0.0.1/32"), ip_network("10.1.0.0/16")]
    assert refusal_reason("127.0.0.1", allowed) is None
    assert refusal_reason("::ffff:127.0.0.1", allowed) is None
    assert refusal_reason("10.1.2.3", allowed) is None
    assert refusal_reason("127.0.0.2", allowed) is not None
    assert refusal_reason("10.2.0.1", allowed) is not None
    assert refusal_reason("::1", allowed) is not None


class _Recording(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return httpcore.AsyncMockStream([])


class _Resolving(GuardedBackend):
    """Answers a fixed list per lookup, like a rebinding DNS server would change its answer."""

    def __init__(self, answers: list[list[str]], inner: _Recording) -> None:
        super().__init__([], inner)
        self.answers = answers
        self.lookups = 0

    async def _resolve(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return self.answers.pop(0)


async def test_the_connection_goes_to_the_judged_address_and_resolves_once() -> None:
    inner = _Recording()
    backend = _Resolving([["93.184.216.34"], ["127.0.0.1"]], inner)
    await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected == ["93.184.216.34"]
    assert backend.lookups == 1


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["93.184.216.34", "10.0.0.1"], ["::ffff:169.254.169.254"]]
)
async def test_a_name_with_any_internal_address_is_refused(answer: list[str]) -> None:
    inner = _Recording()
    backend = _Resolving([answer], inner)
    with pytest.raises(TargetRefused, match=r"hooks\.example\.com: "):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected == []


async def test_localhost_is_refused_after_real_resolution() -> None:
    backend = GuardedBackend([], _Recording())
    with pytest.raises(TargetRefused, match="loopback"):
        await backend.connect_tcp("localhost", 80)
