"""Conversations, bundles and message search in the portal."""

from __future__ import annotations

import httpx
import pytest

from rcsgate.context import AppContext
from tests.conftest import ClientFactory
from tests.portal.helpers import sign_up
from tests.portal.traffic import BUNDLE_NUMBERS, NUMBER, Traffic, make_traffic


@pytest.fixture
async def traffic(
    browser_client: httpx.AsyncClient, client_for: ClientFactory, context: AppContext
) -> Traffic:
    await sign_up(browser_client)
    return await make_traffic(browser_client, client_for, context)


class TestConversations:
    async def test_the_thread_reads_like_a_phone(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        page = await browser_client.get(f"/portal/conversations/{traffic.conversation_id}")
        assert page.status_code == 200
        directions = [turn.split('"')[0] for turn in page.text.split('<li class="')[1:]]
        assert [d for d in directions if d in ("outbound", "inbound")] == [
            "outbound",
            "outbound",
            "outbound",
            "inbound",
        ]
        assert '<p class="bubble">Hej! Hur kan vi hjälpa dig?</p>' in page.text
        assert '<p class="card-title">Sommarkampanj 2026</p>' in page.text
        assert page.text.count('class="rich-card"') == 4  # the card, then 3 in the carousel
        assert '<div class="carousel"' in page.text
        for chip in ("Se utbud", "Ring butik", "Nej tack", "Ring oss", "Köp 2"):
            assert f">{chip}</li>" in page.text
        reply = page.text.split(f'id="m-{traffic.reply_id}"')[1]
        assert '<p class="bubble">Var är mitt paket?</p>' in reply

    async def test_listed_and_found_by_number(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        listing = await browser_client.get("/portal/conversations")
        assert f"/portal/conversations/{traffic.conversation_id}" in listing.text
        found = await browser_client.get(
            "/portal/conversations", params={"number": "+46 70-012 34 56"}
        )
        assert f"/portal/conversations/{traffic.conversation_id}" in found.text
        other = await browser_client.get("/portal/conversations", params={"number": "46700000999"})
        assert traffic.conversation_id not in other.text
        bad = await browser_client.get("/portal/conversations", params={"number": "hello"})
        assert bad.status_code == 400
        assert 'id="number-error"' in bad.text

    async def test_another_account_sees_none_of_it(
        self, traffic: Traffic, client_for: ClientFactory
    ) -> None:
        stranger = client_for()
        await sign_up(stranger)
        assert traffic.conversation_id not in (await stranger.get("/portal/conversations")).text
        for path in (
            f"/portal/conversations/{traffic.conversation_id}",
            f"/portal/bundles/{traffic.bundle_id}",
            f"/portal/messages/{traffic.sent[0]}",
        ):
            page = await stranger.get(path)
            assert page.status_code == 404, path
            assert "<h1>Not found</h1>" in page.text
            assert '<nav aria-label="Main">' in page.text, "the layout, for a logged-in user"

    async def test_the_api_still_answers_not_found_as_a_problem(self, traffic: Traffic) -> None:
        response = await traffic.api.get("/v3/messages/nope")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestBundles:
    async def test_progress_counts_and_stops_when_finished(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        page = await browser_client.get(f"/portal/bundles/{traffic.bundle_id}")
        assert 'hx-trigger="every 2s"' in page.text
        assert '<dd data-status="Queued">3</dd>' in page.text
        progress = f"/portal/bundles/{traffic.bundle_id}/progress"
        ids = await traffic.bundle_messages()
        await traffic.set_status(ids[:1], "Delivered")
        polled = await browser_client.get(progress, headers={"HX-Request": "true"})
        assert polled.status_code == 200
        assert '<dd data-status="Delivered">1</dd>' in polled.text
        assert '<dd data-status="Queued">2</dd>' in polled.text
        assert "<html" not in polled.text, "a fragment, not a page"
        await traffic.set_status(ids, "Read")
        done = await browser_client.get(progress, headers={"HX-Request": "true"})
        assert done.status_code == 286, "htmx stops polling"
        assert "hx-trigger" not in done.text
        assert '<dd data-status="Read">3</dd>' in done.text

    async def test_polling_stops_when_every_message_is_delivered(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        """SMS gets no read receipt: a bundle that ends Delivered is finished."""
        progress = f"/portal/bundles/{traffic.bundle_id}/progress"
        ids = await traffic.bundle_messages()
        await traffic.set_status(ids[:2], "Delivered")
        await traffic.set_status(ids[2:], "Failed")
        done = await browser_client.get(progress, headers={"HX-Request": "true"})
        assert done.status_code == 286, "htmx stops polling"
        assert '<dd data-status="Delivered">2</dd>' in done.text
        page = await browser_client.get(f"/portal/bundles/{traffic.bundle_id}")
        assert "hx-trigger" not in page.text

    async def test_polling_goes_on_while_a_message_may_still_be_delivered(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        progress = f"/portal/bundles/{traffic.bundle_id}/progress"
        ids = await traffic.bundle_messages()
        await traffic.set_status(ids[:2], "Delivered")
        await traffic.set_status(ids[2:], "Sent")
        polled = await browser_client.get(progress, headers={"HX-Request": "true"})
        assert polled.status_code == 200

    async def test_listed(self, browser_client: httpx.AsyncClient, traffic: Traffic) -> None:
        listing = await browser_client.get("/portal/bundles")
        assert f"/portal/bundles/{traffic.bundle_id}" in listing.text
        assert "Queued: 3" in listing.text


class TestMessages:
    async def test_search_by_number_status_and_dates(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        async def found(**params: str) -> set[str]:
            page = await browser_client.get("/portal/messages", params=params)
            assert page.status_code == 200, page.text
            return {part.split('"')[0] for part in page.text.split('href="/portal/messages/')[1:]}

        everything = {*traffic.sent, traffic.reply_id, *await traffic.bundle_messages()}
        assert await found() == everything
        assert await found(number=NUMBER) == {*traffic.sent, traffic.reply_id}
        assert await found(number=BUNDLE_NUMBERS[0]) < set(await traffic.bundle_messages())
        await traffic.set_status(traffic.sent[:1], "Delivered")
        assert await found(status="Delivered") == {traffic.sent[0]}
        assert await found(status="Received") == {traffic.reply_id}
        today = traffic.context.clock.now().date().isoformat()
        assert await found(since=today, until=today) == everything
        assert await found(until="2020-01-01") == set()

    @pytest.mark.parametrize(
        ("field", "value"), [("number", "12"), ("status", "Lost"), ("since", "yesterday")]
    )
    async def test_bad_search_fields_are_named(
        self, browser_client: httpx.AsyncClient, traffic: Traffic, field: str, value: str
    ) -> None:
        page = await browser_client.get("/portal/messages", params={field: value})
        assert page.status_code == 400
        assert f'id="{field}-error"' in page.text

    async def test_the_journey_is_a_timeline(
        self, browser_client: httpx.AsyncClient, traffic: Traffic
    ) -> None:
        message_id = traffic.sent[1]
        await traffic.set_status([message_id], "Sent")
        await traffic.set_status([message_id], "Delivered")
        page = await browser_client.get(f"/portal/messages/{message_id}")
        timeline = page.text.split('<ol class="timeline">')[1].split("</ol>")[0]
        steps = [s.split("</strong>")[0] for s in timeline.split("<strong>")[1:]]
        assert steps == ["Queued", "Sent", "Delivered"]
        assert '<p class="card-title">Sommarkampanj 2026</p>' in page.text
