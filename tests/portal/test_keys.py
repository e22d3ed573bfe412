"""Accounts → Permissions → API keys, without a browser; the keys then used against /v3."""

from __future__ import annotations

import httpx

from rcsgate.kit.clock import FakeClock
from tests.conftest import ClientFactory
from tests.portal.helpers import KEYS, add_key, csrf_of, sign_up, token_of


def key_row(html: str, name: str) -> str:
    start = html.index(f'data-key="{name}"')
    return html[start : html.index("</tr>", start)]


def key_id_of(row: str) -> str:
    return row.split("/keys/")[1].split("/revoke")[0]


class TestPath:
    async def test_accounts_permissions_api_keys_add(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        accounts = await browser_client.get("/portal/accounts")
        assert 'href="/portal/accounts/permissions"' in accounts.text
        permissions = await browser_client.get("/portal/accounts/permissions")
        assert f'href="{KEYS}"' in permissions.text
        keys = await browser_client.get(KEYS)
        assert f'href="{KEYS}/new"' in keys.text
        assert "Add new key" in keys.text


class TestAdd:
    async def test_the_token_is_shown_once(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        created = await add_key(browser_client, "shop", "192.0.2.0/24\n2001:db8::1")
        assert created.status_code == 201
        token = token_of(created.text)
        assert 'data-copy="token"' in created.text
        listing = await browser_client.get(KEYS)
        row = key_row(listing.text, "shop")
        assert token not in listing.text
        assert token[:12] in row
        assert "192.0.2.0/24, 2001:db8::1/128" in row
        assert "never" in row

    async def test_bad_entries_are_named_beside_their_field(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await sign_up(browser_client)
        response = await add_key(browser_client, "shop", "192.0.2.0/24, 10.0.0.7/8, nonsense")
        assert response.status_code == 400
        assert 'aria-describedby="allowed_ips-hint allowed_ips-error"' in response.text
        error = response.text.split('id="allowed_ips-error">')[1].split("</p>")[0]
        assert "10.0.0.7/8" in error
        assert "nonsense" in error
        assert "192.0.2.0/24, 10.0.0.7/8, nonsense</textarea>" in response.text
        assert 'data-key="shop"' not in (await browser_client.get(KEYS)).text

    async def test_a_name_is_required(self, browser_client: httpx.AsyncClient) -> None:
        await sign_up(browser_client)
        response = await add_key(browser_client, "   ")
        assert response.status_code == 400
        assert 'id="name-error"' in response.text


class TestUse:
    async def test_use_is_counted_and_restrictions_hold(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory, clock: FakeClock
    ) -> None:
        await sign_up(browser_client)
        token = token_of((await add_key(browser_client, "office", "203.0.113.0/24")).text)
        inside = client_for(peer="203.0.113.50", token=token)
        outside = client_for(peer="198.51.100.7", token=token)
        assert "never" in key_row((await browser_client.get(KEYS)).text, "office")
        assert (await outside.get("/v3/account")).status_code == 403
        assert (await inside.get("/v3/account")).status_code == 200
        row = key_row((await browser_client.get(KEYS)).text, "office")
        assert clock.now().strftime("%Y-%m-%d %H:%M UTC") in row

    async def test_revoked_keys_are_refused_at_once(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        token = token_of((await add_key(browser_client, "old")).text)
        api = client_for(token=token)
        assert (await api.get("/v3/account")).status_code == 200
        key_id = key_id_of(key_row((await browser_client.get(KEYS)).text, "old"))
        confirm = await browser_client.get(f"{KEYS}/{key_id}/revoke")
        assert "Revoke the key old?" in confirm.text
        revoked = await browser_client.post(
            f"{KEYS}/{key_id}/revoke", data={"csrf": csrf_of(confirm.text)}
        )
        assert revoked.status_code == 303
        assert "revoked" in key_row((await browser_client.get(KEYS)).text, "old")
        assert (await api.get("/v3/account")).status_code == 401

    async def test_another_accounts_key_cannot_be_revoked(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await sign_up(browser_client)
        token = token_of((await add_key(browser_client, "mine")).text)
        key_id = key_id_of(key_row((await browser_client.get(KEYS)).text, "mine"))
        intruder = client_for()
        await sign_up(intruder)
        page = await intruder.get(KEYS)
        await intruder.post(f"{KEYS}/{key_id}/revoke", data={"csrf": csrf_of(page.text)})
        assert (await client_for(token=token).get("/v3/account")).status_code == 200
        assert "active" in key_row((await browser_client.get(KEYS)).text, "mine")
