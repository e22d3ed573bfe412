"""Client addresses and allow-lists.

The client IP is the socket peer. `X-Forwarded-For` is believed only when the peer is a
configured trusted proxy, and then only as far back as the chain stays inside trusted
proxies: the first address from the right that is not a trusted proxy is the client.
`forwarded_client` is the one place that reads these headers (the gate and the portal).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_network(value: str) -> IPNetwork:
    """An address or CIDR range, normalised (`10.0.0.7/8` is refused, not widened)."""
    return ipaddress.ip_network(value.strip(), strict=True)


def parse_address(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def address_in(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


@dataclass(frozen=True, slots=True)
class Client:
    """Who sent a request: its address (None when unknown) and the scheme it used, as far as
    trusted proxies vouch for it (None: only the socket's own scheme counts)."""

    address: IPAddress | None
    forwarded_proto: str | None = None


def forwarded_client(
    peer: str | None,
    forwarded_for: Iterable[str],
    forwarded_proto: Iterable[str],
    trusted_proxies: Sequence[IPNetwork],
) -> Client:
    """The client behind a chain of trusted proxies, from every `X-Forwarded-For` and
    `X-Forwarded-Proto` header line (a proxy may append its own line instead of extending
    the first, so all lines count, joined in order).

    The chain is the forwarded addresses followed by the socket peer. Walking it from the
    right, each trusted proxy vouches for the hop before it; the first address that is not a
    trusted proxy is the client, whatever the entries left of it say (the client wrote
    those). An entry that is not an address stops the walk: the client is then unknown.
    Each proxy appends one proto entry beside its address entry, so the client's proto is
    the entry as far from the right as the proxy that received the client's connection.
    """
    peer_address = parse_address(peer) if peer else None
    if peer_address is None or not address_in(peer_address, trusted_proxies):
        return Client(peer_address)
    hops = _entries(forwarded_for)
    protos = _entries(forwarded_proto)
    for offset, hop in enumerate(reversed(hops)):
        address = parse_address(hop)
        if address is None or not address_in(address, trusted_proxies):
            return Client(address, _entry_from_right(protos, offset))
    # Every hop is a trusted proxy: the request started inside the trusted network.
    leftmost = parse_address(hops[0]) if hops else peer_address
    return Client(leftmost, _entry_from_right(protos, max(len(hops) - 1, 0)))


def _entries(lines: Iterable[str]) -> list[str]:
    return [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]


def _entry_from_right(entries: list[str], offset: int) -> str | None:
    return entries[-1 - offset].lower() if offset < len(entries) else None
