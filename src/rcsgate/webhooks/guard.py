"""Where webhooks may go: only to globally routable addresses (SSRF: a customer's URL must
not reach our own network, carrier-grade NAT such as a cloud's metadata service at
100.100.100.200, or an IPv4 network through an IPv6 tunnel prefix), unless
`RCSGATE_WEBHOOK_ALLOW_PRIVATE` allows everything (local runs with the simulator, tests).

Two doors, both needed:
- `check` refuses a bad scheme and a literal address (the connector connects to a literal
  without resolving it), cheaply, before anything is sent.
- `Resolver` is the webhook client's DNS resolver (an aiohttp resolver): a name is resolved
  once per connection, every address it resolves to is checked, and the connection is made
  to the addresses that were checked. A name that changes its answer between a check and the
  connection (DNS rebinding) has no "between" to use. The name stays the request's Host and
  the TLS server name, so certificates are verified as usual.

Errors raised by the resolver are not `OSError`s, so they leave the HTTP client as they are
(`Refused`: never deliver there; `Unresolved`: try again later).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from rcsgate.kit.net import IPAddress, parse_address

# Global by IANA's registry, yet they carry an IPv4 address that a gateway may forward to a
# private network: 6to4, NAT64 (well-known and local-use) and the old IPv4-compatible form.
TUNNELS = tuple(
    ipaddress.IPv6Network(n) for n in ("2002::/16", "64:ff9b::/96", "64:ff9b:1::/48", "::/96")
)


class Refused(Exception):
    """This URL may never be delivered to (under the current settings)."""


class Unresolved(Exception):
    """The host did not resolve now; it may later."""


def allowed(address: IPAddress) -> bool:
    """Whether webhooks may go to `address`: global (which leaves out private, loopback,
    link-local, carrier-grade NAT, documentation and reserved ranges), not multicast (which
    Python counts as global) and no tunnel to an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in TUNNELS):
        return False
    return address.is_global and not address.is_multicast


def literal_refusal(url: str) -> str | None:
    """Why `url` is refused without resolving anything (a bad scheme, a literal address
    that is not global), or None. Cheap enough for request validation."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL"
    address = parse_address(parts.hostname)
    if address is not None and not allowed(address):
        return f"{address} is not a public address"
    if parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        return "localhost is a loopback address"
    return None


def check(url: str, *, allow_private: bool) -> None:
    """Raises `Refused` when `url` may not be delivered to, judged without resolving it (the
    client's `Resolver` judges the addresses a name resolves to)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url!r} is not an absolute http or https URL")
    if allow_private:
        return
    reason = literal_refusal(url)
    if reason:
        raise Refused(f"refused {parts.hostname}: {reason} (RCSGATE_WEBHOOK_ALLOW_PRIVATE)")


Lookup = Callable[[str, int], Awaitable[list[str]]]


async def system_lookup(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, by the system's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_rest, sockaddr in infos]


def _anything(address: IPAddress) -> bool:
    return True


class Resolver(AbstractResolver):
    """Resolves a name once and hands the connector only addresses `permits` accepts; if
    any address is refused, the name is refused (a name that mixes a public and a private
    address is not a customer's receiver)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        lookup: Lookup = system_lookup,
        permits: Callable[[IPAddress], bool] = allowed,
    ) -> None:
        self.lookup = lookup
        self.permits = _anything if allow_private else permits

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.rstrip(".")
        try:
            found = await self.lookup(host, port)
        except OSError as error:
            raise Unresolved(f"cannot resolve {name}: {error}") from error
        addresses = [parse_address(a) for a in found]
        if not addresses:
            raise Unresolved(f"cannot resolve {name}: no address")
        for text, address in zip(found, addresses, strict=True):
            if address is None or not self.permits(address):
                raise Refused(
                    f"refused {name}: it resolves to {text}, which is not a public address "
                    "(RCSGATE_WEBHOOK_ALLOW_PRIVATE)"
                )
        return [_result(host, str(a), port) for a in addresses if a is not None]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host,
        host=address,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )
