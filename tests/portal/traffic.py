"""An account with traffic: a conversation of text, a rich card, a carousel and a user's reply;
a bundle of three; made through /v3 and the receipts path, as real traffic is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from rcsgate.agents.service import get_agent
from rcsgate.connectors.base import InboundEvent, InboundKind
from rcsgate.context import AppContext
from rcsgate.dispatch.receipts import store_inbound
from rcsgate.kit.ids import new_id
from rcsgate.models import Message, MessageEvent
from tests.conftest import ClientFactory
from tests.fixtures.ip1 import E10_QUICK_START
from tests.fixtures.messaging import AGENT, BRAND, launched_sender
from tests.portal.helpers import account_id_of, add_key, token_of

NUMBER = "46700123456"
BUNDLE_NUMBERS = ["46700000201", "46700000202", "46700000203"]
CAROUSEL: dict[str, Any] = {
    "width": 1,
    "cards": [
        {
            "title": f"Produkt {i}",
            "content": "Nu 20% rabatt",
            "mediaUrl": f"https://cdn.example/{i}.jpg",
            "suggestions": [{"type": 1, "text": f"Köp {i}", "url": "https://shop.example"}],
        }
        for i in range(3)
    ],
    "suggestions": [
        {"type": 0, "text": "Nej tack", "postbackData": "no"},
        {"type": 4, "text": "Ring oss", "phoneNumber": "468123456", "postbackData": "call"},
    ],
}


@dataclass
class Traffic:
    context: AppContext
    api: httpx.AsyncClient
    conversation_id: str
    sent: list[str]
    reply_id: str
    bundle_id: str

    async def set_status(self, message_ids: list[str], status: str) -> None:
        """A receipt's effect: the status, and the step in the journey."""
        now = self.context.clock.now()
        async with self.context.sessionmaker.begin() as session:
            await session.execute(
                update(Message).where(Message.id.in_(message_ids)).values(status=status)
            )
            session.add_all(
                MessageEvent(
                    id=new_id(), message_id=m, status=status, channel="RCS", operator="rbm", at=now
                )
                for m in message_ids
            )

    async def bundle_messages(self) -> list[str]:
        response = await self.api.get(f"/v3/bundles/{self.bundle_id}/messages")
        return [m["id"] for m in response.json()]


async def make_traffic(
    portal: httpx.AsyncClient, client_for: ClientFactory, context: AppContext
) -> Traffic:
    """For an account signed up on `portal`."""
    account_id = await account_id_of(portal)
    await launched_sender(context, account_id)
    api = client_for(token=token_of((await add_key(portal, "traffic")).text))
    sender = {"brand": BRAND, "agent": AGENT}
    started = await api.post(
        "/v3/conversations",
        json={**sender, "recipient": NUMBER, "content": "Hej! Hur kan vi hjälpa dig?"},
    )
    assert started.status_code == 201, started.text
    conversation = started.json()
    path = f"/v3/conversations/{conversation['conversationId']}/messages"
    card = {k: E10_QUICK_START[k] for k in ("card", "suggestions")}
    sent = [conversation["id"]]
    for body in (card, CAROUSEL):
        context.clock.advance(60)
        response = await api.post(path, json=body)
        assert response.status_code == 201, response.text
        sent.append(response.json()["id"])
    context.clock.advance(60)
    reply_id = await _user_replies(context, account_id, "Var är mitt paket?")
    bundle = await api.post(
        "/v3/bundles",
        json={**sender, "recipients": {n: {} for n in BUNDLE_NUMBERS}, "content": "Rea!"},
    )
    assert bundle.status_code in (200, 201, 202), bundle.text
    return Traffic(
        context, api, conversation["conversationId"], sent, reply_id, bundle.json()["id"]
    )


async def _user_replies(context: AppContext, account_id: str, text: str) -> str:
    async with context.sessionmaker.begin() as session:
        view = await get_agent(session, account_id, BRAND, AGENT)
        event = InboundEvent(
            operator="rbm",
            kind=InboundKind.TEXT,
            msisdn=NUMBER,
            at=context.clock.now(),
            agent=view.agent.id,
            event_id=new_id(),
            text=text,
        )
        message_id = await store_inbound(session, context.clock, event)
    assert message_id is not None
    return message_id
