"""Where webhooks may go: no loopback, link-local, private, multicast, reserved or
unspecified address (SSRF: a customer's URL must not reach our own network), unless
`RCSGATE_WEBHOOK_ALLOW_PRIVATE` allows it (local runs with the simulator, tests).

The host is resolved and every address it resolves to is checked, so a public name that
points at 127.0.0.1 is refused too. The check and the connection resolve separately: a name
that changes its answer in between (DNS rebinding) is not caught here; a deployment that must
rule that out sends webhooks through an egress proxy that enforces the same rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from rcsgate.kit.net import IPAddress, parse_address


class Refused(Exception):
    """This URL may never be delivered to (under the current settings)."""


class Unresolved(Exception):
    """The host did not resolve now; it may later."""


def forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_refusal(url: str) -> str | None:
    """Why `url` is refused without resolving anything (a bad scheme, a private literal IP),
    or None. Cheap enough for request validation."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL"
    address = parse_address(parts.hostname)
    if address is not None and forbidden(address):
        return f"{address} is a loopback, link-local or private address"
    if parts.hostname.lower() in ("localhost", "localhost.localdomain"):
        return "localhost is a loopback address"
    return None


Resolver = Callable[[str, int], Awaitable[list[Any]]]


async def _resolve(host: str, port: int) -> list[Any]:
    return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def check(url: str, *, allow_private: bool, resolve: Resolver = _resolve) -> None:
    """Raises `Refused` when `url` may not be delivered to, `Unresolved` when its host does
    not resolve now."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url!r} is not an absolute http or https URL")
    if allow_private:
        return
    reason = literal_refusal(url)
    if reason:
        raise Refused(f"refused {parts.hostname}: {reason} (RCSGATE_WEBHOOK_ALLOW_PRIVATE)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await resolve(parts.hostname, port)
    except OSError as error:
        raise Unresolved(f"cannot resolve {parts.hostname}: {error}") from error
    for *_rest, sockaddr in infos:
        address = parse_address(str(sockaddr[0]))
        if address is None or forbidden(address):
            raise Refused(
                f"refused {parts.hostname}: it resolves to {sockaddr[0]}, a loopback, "
                "link-local or private address (RCSGATE_WEBHOOK_ALLOW_PRIVATE)"
            )
