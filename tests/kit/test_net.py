"""The client behind trusted proxies, from every forwarded header line."""

from __future__ import annotations

import ipaddress

import pytest

from rcsgate.kit.net import forwarded_client, parse_network

TRUSTED = (parse_network("10.9.0.0/16"), parse_network("fd00::/8"))
PROXY = "10.9.0.5"


def client(
    forwarded_for: list[str], forwarded_proto: list[str] | None = None, peer: str = PROXY
) -> tuple[str | None, str | None]:
    found = forwarded_client(peer, forwarded_for, forwarded_proto or [], TRUSTED)
    return (str(found.address) if found.address else None, found.forwarded_proto)


class TestForwardedFor:
    def test_an_untrusted_peer_is_the_client_whatever_it_sends(self) -> None:
        assert client(["198.51.100.7"], ["https"], peer="203.0.113.9") == ("203.0.113.9", None)

    def test_a_second_header_line_appended_by_the_proxy_counts(self) -> None:
        # The client sent the first line; the proxy appended the real address as its own line.
        assert client(["198.51.100.7", "203.0.113.9"])[0] == "203.0.113.9"

    def test_spoofed_entries_left_of_the_client_are_ignored(self) -> None:
        spoofed = ["10.9.0.1, 198.51.100.7", "198.51.100.8, 203.0.113.9"]
        assert client(spoofed)[0] == "203.0.113.9"

    def test_the_walk_passes_trusted_proxies_from_the_right(self) -> None:
        assert client(["198.51.100.7, 203.0.113.9, 10.9.0.6", "fd00::1"])[0] == "203.0.113.9"

    def test_an_all_trusted_chain_names_its_first_hop(self) -> None:
        assert client(["10.9.0.7, 10.9.0.6"])[0] == "10.9.0.7"
        assert client([])[0] == PROXY

    @pytest.mark.parametrize(
        "entry", ["unknown", "not an ip", "203.0.113.9:443", "1.2.3", "999.1.1.1", "x" * 10_000]
    )
    def test_a_malformed_entry_makes_the_client_unknown(self, entry: str) -> None:
        assert client([f"198.51.100.7, {entry}"]) == (None, None)
        # Left of the client, it is only something the client wrote.
        assert client([f"{entry}, 203.0.113.9"])[0] == "203.0.113.9"

    def test_ipv4_mapped_and_bracketed_addresses_are_read(self) -> None:
        assert client(["[2001:db8::1]", "::ffff:203.0.113.9"])[0] == "203.0.113.9"
        found = forwarded_client(PROXY, ["[2001:db8::1]"], [], TRUSTED).address
        assert found == ipaddress.ip_address("2001:db8::1")


class TestForwardedProto:
    def test_the_entry_of_the_proxy_that_met_the_client_counts(self) -> None:
        # The client sent "https"; the proxy appended what it really saw.
        assert client(["203.0.113.9"], ["https", "http"]) == ("203.0.113.9", "http")
        assert client(["203.0.113.9"], ["https, http"]) == ("203.0.113.9", "http")

    def test_two_proxies_each_append_their_hop(self) -> None:
        assert client(["203.0.113.9, 10.9.0.6"], ["HTTPS, http"]) == ("203.0.113.9", "https")

    def test_a_missing_entry_for_the_client_hop_vouches_for_nothing(self) -> None:
        assert client(["203.0.113.9, 10.9.0.6"], ["https"]) == ("203.0.113.9", None)

    def test_a_trusted_peer_alone_vouches_for_its_own_client(self) -> None:
        assert client([], ["https"]) == (PROXY, "https")
