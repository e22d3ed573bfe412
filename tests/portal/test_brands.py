"""Brands and agents in the portal, through the same services as /v3."""

from __future__ import annotations

import httpx

from rcsgate.agents.service import get_agent, record_launch_result
from rcsgate.context import AppContext
from tests.conftest import ClientFactory
from tests.portal.helpers import account_id_of, add_key, csrf_of, sign_up, submit, token_of

AGENT = "/portal/brands/min-butik-ab/agents/kundservice"


async def shop(client: httpx.AsyncClient) -> None:
    """A signed-up account with the brand `min-butik-ab` and its agent `kundservice`."""
    await sign_up(client)
    brand = await submit(
        client,
        "/portal/brands",
        "/portal/brands",
        {"displayName": "Min Butik AB", "website": "https://minbutik.se"},
    )
    assert brand.status_code == 303
    assert brand.headers["location"] == "/portal/brands/min-butik-ab"
    agent = await submit(
        client,
        "/portal/brands/min-butik-ab",
        "/portal/brands/min-butik-ab/agents",
        {"displayName": "Kundservice", "useCase": "Transactional", "color": "#1A73E8"},
    )
    assert agent.status_code == 303
    assert agent.headers["location"] == AGENT


class TestBrands:
    async def test_created_brands_are_listed_and_seen_by_the_api(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await shop(browser_client)
        listing = await browser_client.get("/portal/brands")
        assert 'href="/portal/brands/min-butik-ab">Min Butik AB</a>' in listing.text
        token = token_of((await add_key(browser_client, "api")).text)
        brands = (await client_for(token=token).get("/v3/brands")).json()
        assert [b["brandName"] for b in brands] == ["min-butik-ab"]

    async def test_errors_name_their_fields(self, browser_client: httpx.AsyncClient) -> None:
        await sign_up(browser_client)
        response = await submit(
            browser_client,
            "/portal/brands",
            "/portal/brands",
            {"displayName": "", "brandName": "Not A Slug", "website": "ftp://x"},
        )
        assert response.status_code == 400
        for name in ("displayName", "brandName", "website"):
            assert f'id="{name}-error"' in response.text
            assert f'aria-describedby="{name}-error"' in response.text or (
                f'aria-describedby="{name}-hint {name}-error"' in response.text
            )
        assert 'value="Not A Slug"' in response.text

    async def test_a_taken_name_is_refused(self, browser_client: httpx.AsyncClient) -> None:
        await shop(browser_client)
        again = await submit(
            browser_client, "/portal/brands", "/portal/brands", {"displayName": "Min Butik AB"}
        )
        assert again.status_code == 400
        assert 'id="displayName-error"' in again.text

    async def test_another_accounts_brand_is_not_found(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await shop(browser_client)
        stranger = client_for()
        await sign_up(stranger)
        assert (await stranger.get("/portal/brands/min-butik-ab")).status_code == 404
        assert (await stranger.get(AGENT)).status_code == 404


class TestAgents:
    async def test_edit_sets_and_clears_fields(self, browser_client: httpx.AsyncClient) -> None:
        await shop(browser_client)
        page = await browser_client.get(AGENT)
        assert 'value="#1A73E8"' in page.text
        saved = await submit(
            browser_client,
            AGENT,
            AGENT,
            {"displayName": "Kundtjänst", "useCase": "OTP", "color": "", "smsSender": "MinButik"},
        )
        assert saved.status_code == 200
        assert "<h1>Kundtjänst</h1>" in saved.text
        assert 'value="MinButik"' in saved.text
        assert 'id="color" name="color" type="text" value=""' in saved.text
        assert '<option value="OTP" selected>' in saved.text

    async def test_a_bad_edit_keeps_the_agent(self, browser_client: httpx.AsyncClient) -> None:
        await shop(browser_client)
        bad = await submit(
            browser_client, AGENT, AGENT, {"displayName": "Kundservice", "color": "blue"}
        )
        assert bad.status_code == 400
        assert 'id="color-error"' in bad.text
        assert 'value="#1A73E8"' in (await browser_client.get(AGENT)).text

    async def test_launch_status_per_operator(
        self, browser_client: httpx.AsyncClient, context: AppContext
    ) -> None:
        await shop(browser_client)
        assert "Launch not requested yet." in (await browser_client.get(AGENT)).text
        launched = await submit(browser_client, AGENT, AGENT + "/launch", {})
        assert launched.status_code == 303
        page = (await browser_client.get(AGENT)).text
        for operator in context.settings.operators:
            assert f'<th scope="row">{operator}</th><td class="launch-submitted">' in page
        account_id = await account_id_of(browser_client)
        async with context.sessionmaker.begin() as session:
            view = await get_agent(session, account_id, "min-butik-ab", "kundservice")
            await record_launch_result(session, context.clock, view.agent, "rbm", "Launched")
        page = (await browser_client.get(AGENT)).text
        assert '<th scope="row">rbm</th><td class="launch-launched">Launched</td>' in page
        assert '<dd id="agent-status">Launched</dd>' in page
        assert "Request launch" not in page
        again = await browser_client.post(AGENT + "/launch", data={"csrf": csrf_of(page)})
        assert again.status_code == 303, "a second request changes nothing and says nothing"


class TestBrandEdit:
    EDIT = "/portal/brands/min-butik-ab/edit"

    async def test_edit_sets_and_clears_fields(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await shop(browser_client)
        form = await browser_client.get(self.EDIT)
        assert 'value="https://minbutik.se"' in form.text
        saved = await submit(
            browser_client,
            self.EDIT,
            self.EDIT,
            {"displayName": "Min Butik", "website": "", "logoUrl": "https://minbutik.se/l.png"},
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/portal/brands/min-butik-ab"
        token = token_of((await add_key(browser_client, "api")).text)
        brand = (await client_for(token=token).get("/v3/brands/min-butik-ab")).json()
        assert (brand["displayName"], brand["website"], brand["logoUrl"]) == (
            "Min Butik",
            None,
            "https://minbutik.se/l.png",
        )

    async def test_a_bad_edit_names_its_field_and_keeps_the_brand(
        self, browser_client: httpx.AsyncClient
    ) -> None:
        await shop(browser_client)
        bad = await submit(
            browser_client, self.EDIT, self.EDIT, {"displayName": "", "logoUrl": "http://x.se"}
        )
        assert bad.status_code == 400
        assert 'id="displayName-error"' in bad.text
        assert 'id="logoUrl-error"' in bad.text
        assert (
            "<h1>Min Butik AB</h1>"
            in (await browser_client.get("/portal/brands/min-butik-ab")).text
        )

    async def test_another_accounts_brand_cannot_be_edited(
        self, browser_client: httpx.AsyncClient, client_for: ClientFactory
    ) -> None:
        await shop(browser_client)
        stranger = client_for()
        await sign_up(stranger)
        assert (await stranger.get(self.EDIT)).status_code == 404
        csrf = csrf_of((await stranger.get("/portal/brands")).text)
        refused = await stranger.post(self.EDIT, data={"csrf": csrf, "displayName": "Mine"})
        assert refused.status_code == 404
