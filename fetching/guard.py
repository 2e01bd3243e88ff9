"""The fetcher's address guard: which addresses newswatch may connect to, checked at connect time.

Feed and page URLs come from anyone, and a URL (or a redirect) can aim at the machine's own
services: a cloud metadata endpoint (169.254.169.254), a database on 10.x, an admin page on
loopback. So every address a host name resolves to is checked, and a host with even one
loopback, private, link-local, multicast, reserved or unspecified address is refused, unless
the host (or host:port) is listed in `NEWSWATCH_ALLOWED_HOSTS`. IPv6 forms that carry an IPv4
address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by the address they carry.

The check lives in the network backend httpcore connects through, not before the request:
the addresses checked are the addresses connected to, so a name that resolves to a public
address for the check and to a private one for the connect (DNS rebinding) gets nowhere. It
runs for every new connection, which covers every redirect hop, robots.txt, and every host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[Address]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The URL's host resolves to an address we may not contact."""


class DnsError(Exception):
    """The URL's host name does not resolve."""


def refusal(address: Address) -> str | None:
    """Why `address` may not be contacted ("private", "link-local", ...), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
        server, client = address.teredo
        return refusal(server) or refusal(client)
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_allowed(host: str, port: int, allowed: Iterable[str]) -> bool:
    """Whether the settings let us reach `host:port` whatever it resolves to."""
    allowed = tuple(allowed)
    return host in allowed or f"{host}:{port}" in allowed


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal is its own address)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DnsError(f"cannot resolve {host}: {exc}") from exc
    # Scoped IPv6 addresses come back as "fe80::1%eth0"; the scope does not change the verdict.
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(found))


async def checked_addresses(
    host: str, port: int, allowed: Iterable[str], resolver: Resolver | None = None
) -> list[Address]:
    """The addresses we may connect to for `host:port`: all of them, or `AddressRefused`
    when any one is refused (a host with one private address is not a public host)."""
    host = host.lower()
    addresses = await (resolver or resolve)(host, port)
    if not addresses:
        raise DnsError(f"cannot resolve {host}: no addresses")
    if is_allowed(host, port, allowed):
        return addresses
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            literal = host.strip("[]") == str(address)
            where = f"{host} is" if literal else f"{host} resolves to {address},"
            raise AddressRefused(
                f"{where} a {reason} address; list the host in NEWSWATCH_ALLOWED_HOSTS to allow it"
            )
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in front: resolve, check every address,
    then connect to a checked address (never to the name, which could resolve anew)."""

    def __init__(self, allowed: Iterable[str], resolver: Resolver | None = None) -> None:
        self.allowed = tuple(allowed)
        self.resolver = resolver
        self.inner: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self.allowed, self.resolver)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the host's next address, as a browser would
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are never fetched from")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
