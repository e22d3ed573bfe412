"""Loading a batch of outgoing messages for dispatch."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from rcsgate.context import AppContext
from rcsgate.dispatch.outgoing import Outgoing, load_outgoing
from rcsgate.models import Message
from tests.fixtures.messaging import Sender

SIMPLE = {"brand": "min-butik-ab", "agent": "kundservice", "content": "Rea imorgon!"}
RECIPIENTS = ["46700000101", "46700000102", "46700000103"]


async def bundle_messages(
    api: httpx.AsyncClient, context: AppContext, body: dict[str, object]
) -> list[Outgoing]:
    response = await api.post("/v3/bundles", json=body)
    assert response.status_code == 201, response.text
    async with context.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Message.id).where(Message.bundle_id == response.json()["id"])
            )
        )
        found = await load_outgoing(session, ids, context.settings.operators)
    return [found[i] for i in ids]


class TestLoadOutgoing:
    async def test_a_bundles_messages_share_one_validated_content(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        """A 100,000-recipient bundle's content was validated again for every message."""
        messages = await bundle_messages(api, context, {**SIMPLE, "recipients": RECIPIENTS})

        assert len(messages) == len(RECIPIENTS)
        assert len({id(message.content) for message in messages}) == 1
        assert messages[0].content.content == "Rea imorgon!"

    async def test_each_recipient_still_gets_its_own_filled_content(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        recipients = {number: {"name": f"N{i}"} for i, number in enumerate(RECIPIENTS)}
        body = {**SIMPLE, "content": "Hej {name}!", "recipients": recipients}

        messages = await bundle_messages(api, context, body)

        texts = {message.recipient: message.content.content for message in messages}
        assert texts == {number: f"Hej N{i}!" for i, number in enumerate(RECIPIENTS)}
