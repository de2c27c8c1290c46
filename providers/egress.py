"""Fetching URLs that someone else chose, without reaching our own network (R-MEDIA).

Inbound media URLs come from providers, and the API channel's from a partner: a URL naming
127.0.0.1, a private address or the cloud metadata address (169.254.169.254) would make the server
fetch, and store for the team to read, what only it can reach. So every connection the media
client opens resolves the host itself, refuses it unless every address is public, and connects to
the address it checked: no second lookup for a DNS rebinding to answer differently. Redirects
open their own connections, so each hop is checked the same way. TLS still verifies the URL's
host name (httpcore takes the SNI name from the URL, not from the address connected to).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The URL's host is, or resolves to, an address the server must not fetch from."""


def is_public(address: IPAddress) -> bool:
    """False for loopback, private (RFC 1918, fc00::/7, 100.64/10), link-local (169.254/16 with the
    metadata address, fe80::/10), unspecified, multicast and reserved addresses; an IPv4 address
    written as IPv6 (::ffff:127.0.0.1) is judged as itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
    )


async def public_addresses(host: str, port: int, *, within: float | None = None) -> list[str]:
    """The addresses of `host` (a name or a literal address), all of them public; else
    RefusedAddress. The lookup takes at most `within` seconds (the connect timeout)."""
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), within
        )
    except (socket.gaierror, TimeoutError) as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    refused = [a for a in addresses if not is_public(ipaddress.ip_address(a.partition("%")[0]))]
    if refused or not addresses:
        raise RefusedAddress(f"{host} is not a public address ({', '.join(refused) or 'none'})")
    return addresses


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses, to the one it checked."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in await public_addresses(host, port, within=timeout):
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:  # the next address of the name, as a resolver would
                failure = error
        raise failure or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("no Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses PublicOnlyBackend. httpx takes no network
    backend, so the pool it made is replaced by one made the same way with ours."""

    def __init__(self) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=PublicOnlyBackend()
        )


def media_client(*, timeout: httpx.Timeout, private_addresses: bool) -> httpx.AsyncClient:
    """The client that fetches URLs others chose. `private_addresses` (FETCH_PRIVATE_ADDRESSES)
    lifts the guard, for tests and the demo, whose fake providers listen on 127.0.0.1. No proxy
    from the environment: a proxy would connect on our behalf, past the guard."""
    transport = httpx.AsyncHTTPTransport() if private_addresses else PublicOnlyTransport()
    return httpx.AsyncClient(timeout=timeout, transport=transport, trust_env=False)
