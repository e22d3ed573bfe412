from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock, isoformat_z
from rcsgate.models import Message
from tests.conftest import ClientFactory, TenantFactory
from tests.fixtures.messaging import Sender, jobs_of_kind, launched_sender
from tests.test_gate import assert_problem

BASE = {"brand": "min-butik-ab", "agent": "kundservice"}
CAROUSEL = {
    **BASE,
    "recipient": "46700000101",
    "type": "Carousell",
    "width": 1,
    "cards": [
        {
            "title": f"Produkt {i}",
            "content": "Nu 20% rabatt",
            "mediaUrl": f"https://cdn.example/{i}.jpg",
            "height": "Medium",
            "suggestions": [{"type": 1, "text": "Köp", "url": "https://shop.example"}],
        }
        for i in range(3)
    ],
    "suggestions": [
        {
            "type": "Dial",
            "text": "Ring oss nu",
            "phoneNumber": "+468123456",
            "postbackData": "call_clicked",
        },
        {"type": 0, "text": "Nej tack", "postbackData": "no"},
    ],
}


async def converse(api: httpx.AsyncClient, recipient: str, content: str = "Hej") -> dict[str, Any]:
    response = await api.post(
        "/v3/conversations", json={**BASE, "recipient": recipient, "content": content}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def set_status(context: AppContext, message_id: str, status: str) -> None:
    async with context.sessionmaker.begin() as session:
        await session.execute(update(Message).where(Message.id == message_id).values(status=status))


class TestRead:
    async def test_a_carousel_has_its_cards_and_suggestions(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        message = (await api.post("/v3/conversations", json=CAROUSEL)).json()

        cards = await api.get(f"/v3/messages/{message['id']}/cards")
        chips = await api.get(f"/v3/messages/{message['id']}/suggestions")

        assert message["type"] == "Carousel"
        assert [(c["order"], c["title"], c["height"], c["width"]) for c in cards.json()] == [
            (0, "Produkt 0", 2, 1),
            (1, "Produkt 1", 2, 1),
            (2, "Produkt 2", 2, 1),
        ]
        assert {c["messageId"] for c in cards.json()} == {message["id"]}
        assert len({c["id"] for c in cards.json()}) == 3
        assert cards.json()[0]["suggestions"][0]["typeName"] == "OpenUrl"
        assert [(s["type"], s["typeName"], s["order"]) for s in chips.json()] == [
            (4, "Dial", 0),
            (0, "Reply", 1),
        ]
        assert chips.json()[0]["phoneNumber"] == "+468123456"
        again = await api.get(f"/v3/messages/{message['id']}/cards")
        assert again.json() == cards.json()

    async def test_a_text_message_has_no_cards(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        message = await converse(api, "46700000101")

        assert (await api.get(f"/v3/messages/{message['id']}/cards")).json() == []
        assert (await api.get(f"/v3/messages/{message['id']}/suggestions")).json() == []

    async def test_unknown_message_is_404(self, api: httpx.AsyncClient, sender: Sender) -> None:
        for path in ("", "/cards", "/suggestions"):
            assert_problem(await api.get(f"/v3/messages/{'0' * 24}{path}"), 404, "not-found")


class TestList:
    async def test_filters(
        self, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, context: AppContext
    ) -> None:
        first = await converse(api, "46700000101")
        clock.advance(60)
        middle = clock.now()
        second = await converse(api, "46700000102")
        await set_status(context, second["id"], "Delivered")

        async def ids(**params: str) -> list[str]:
            response = await api.get("/v3/messages", params=params)
            assert response.status_code == 200, response.text
            return [m["id"] for m in response.json()]

        assert await ids() == [first["id"], second["id"]]
        assert await ids(order="DESC") == [second["id"], first["id"]]
        assert await ids(status="Delivered") == [second["id"]]
        assert await ids(recipient="+46 70 000 01 01") == [first["id"]]
        assert await ids(direction="Outbound", channel="RCS") == [first["id"], second["id"]]
        assert await ids(direction="Inbound") == []
        assert await ids(**{"from": isoformat_z(middle)}) == [second["id"]]
        assert await ids(to=isoformat_z(middle)) == [first["id"]]

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "Lost"},
            {"recipient": "12"},
            {"from": "yesterday"},
            {"channel": "MMS"},
            {"start": "2147483648"},
        ],
    )
    async def test_bad_filters_are_400(
        self, api: httpx.AsyncClient, sender: Sender, params: dict[str, str]
    ) -> None:
        response = await api.get("/v3/messages", params=params)

        assert assert_problem(response, 400, "validation")["errors"][0]["field"] in params

    async def test_pages_with_links(self, api: httpx.AsyncClient, sender: Sender) -> None:
        for index in range(5):
            await converse(api, f"4670000010{index}")

        page = await api.get("/v3/messages", params={"start": 2, "limit": 2, "status": "Queued"})

        assert page.headers["x-total-count"] == "5"
        assert len(page.json()) == 2
        link = page.headers["link"]
        for rel in ("self", "first", "prev", "next", "last"):
            assert f'rel="{rel}"' in link
        assert "status=Queued" in link


class TestRevoke:
    async def test_revoke_is_queued(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        message = await converse(api, "46700000101")

        response = await api.delete(f"/v3/messages/{message['id']}")

        assert response.status_code == 202, response.text
        assert [j.payload for j in await jobs_of_kind(context, "revoke_message")] == [
            {"messageId": message["id"]}
        ]

    @pytest.mark.parametrize("status", ["Read", "Failed", "Revoked", "Cancelled", "Expired"])
    async def test_a_final_message_cannot_be_revoked(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, status: str
    ) -> None:
        message = await converse(api, "46700000101")
        await set_status(context, message["id"], status)

        assert_problem(
            await api.delete(f"/v3/messages/{message['id']}"), 409, "message-not-revocable"
        )
        assert await jobs_of_kind(context, "revoke_message") == []


class TestTtl:
    async def test_ttl_sets_expiry(
        self, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        response = await api.post(
            "/v3/conversations",
            json={
                **BASE,
                "recipient": "46700000101",
                "content": "Kod: 1234",
                "ttl": 300,
                "trafficType": "Authentication",
            },
        )

        message = response.json()
        assert message["expires"] == isoformat_z(clock.now() + timedelta(seconds=300))


async def test_another_account_cannot_read_or_revoke(
    api: httpx.AsyncClient,
    sender: Sender,
    make_tenant: TenantFactory,
    client_for: ClientFactory,
    context: AppContext,
) -> None:
    message = await converse(api, "46700000101")
    other = await make_tenant(name="Other")
    await launched_sender(context, other.account_id)
    intruder = client_for(token=other.token)

    for path in ("", "/cards", "/suggestions"):
        assert_problem(await intruder.get(f"/v3/messages/{message['id']}{path}"), 404, "not-found")
    assert_problem(await intruder.delete(f"/v3/messages/{message['id']}"), 404, "not-found")
    assert (await intruder.get("/v3/messages")).json() == []
    assert await jobs_of_kind(context, "revoke_message") == []
