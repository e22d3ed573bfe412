"""Client addresses and allow-lists.

The client IP is the socket peer. `X-Forwarded-For` is believed only when the peer is a
configured trusted proxy, and then only as far back as the chain stays inside trusted
proxies: the first address from the right that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

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


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    peer_address = parse_address(peer) if peer else None
    if peer_address is None or not forwarded_for or not address_in(peer_address, trusted_proxies):
        return peer_address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = parse_address(hop)
        if hop_address is None:
            return peer_address
        if not address_in(hop_address, trusted_proxies):
            return hop_address
    return peer_address
