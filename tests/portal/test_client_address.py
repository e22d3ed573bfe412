"""The portal names a client the way the gate does: past trusted proxies, every header line."""

from __future__ import annotations

import httpx

from rcsgate.portal.pages.auth import SIGNUPS_PER_ADDRESS
from tests.conftest import ClientFactory
from tests.portal.helpers import PASSWORD, sign_up, submit

TRUSTED_PROXY = "10.9.0.5"  # inside settings.trusted_proxies (10.9.0.0/16)


def behind_proxy(client_for: ClientFactory, *forwarded_for: str) -> httpx.AsyncClient:
    client = client_for(peer=TRUSTED_PROXY)
    client.headers = httpx.Headers([("X-Forwarded-For", line) for line in forwarded_for])
    return client


async def test_sign_ups_are_throttled_by_the_address_the_proxy_appended(
    client_for: ClientFactory,
) -> None:
    # Each sign-up claims another address in its own header line; the proxy adds the real one.
    for number in range(SIGNUPS_PER_ADDRESS):
        await sign_up(behind_proxy(client_for, f"198.51.100.{number}", "203.0.113.50"))
    refused = await submit(
        behind_proxy(client_for, "198.51.100.99", "203.0.113.50"),
        "/portal/signup",
        "/portal/signup",
        {"name": "A", "email": "late@example.com", "password": PASSWORD},
    )
    assert refused.status_code == 429
    await sign_up(behind_proxy(client_for, "203.0.113.50", "203.0.113.51"))


async def test_a_malformed_forwarded_address_is_no_error(client_for: ClientFactory) -> None:
    await sign_up(behind_proxy(client_for, "198.51.100.7", "unknown, [nonsense"))
