"""An operator's callback moves only what went through that operator: receipts for messages
sent through another are ignored, user messages for agents not launched there are not stored."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from rcsgate.connectors.base import InboundEvent, InboundKind, ReceiptStatus
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.messages.state import Step, record
from rcsgate.models import Agent, Conversation, Message, MessageEvent
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender, count_rows, jobs_of_kind
from tests.fixtures.webhooks import deliveries, set_account_url

RECIPIENT = "46700000001"


async def sent_through(
    context: AppContext, api: httpx.AsyncClient, sender: Sender, operator: str
) -> str:
    """A message as dispatch leaves it after its submit to `operator`."""
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": RECIPIENT, "content": "Hej"}
    response = await api.post("/v3/conversations", json=body)
    assert response.status_code == 201, response.text
    message_id = str(response.json()["id"])
    async with context.sessionmaker.begin() as session:
        await record(session, Step(message_id, "Sent", "RCS", context.clock.now(), operator))
    return message_id


def receipt(operator: str, message_id: str, clock: FakeClock) -> InboundEvent:
    return InboundEvent(
        operator,
        InboundKind.STATUS,
        RECIPIENT,
        clock.now(),
        ref=message_id,
        status=ReceiptStatus.DELIVERED,
    )


async def journey(context: AppContext, message_id: str) -> list[tuple[str, str | None]]:
    async with context.sessionmaker() as session:
        rows = await session.execute(
            select(MessageEvent.status, MessageEvent.operator)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.at, MessageEvent.id)
        )
        return [(status, operator) for status, operator in rows]


async def agent_id(context: AppContext, tenant: Tenant) -> str:
    async with context.sessionmaker() as session:
        found = await session.scalar(select(Agent.id).where(Agent.account_id == tenant.account_id))
        assert found is not None
        return found


def user_says(operator: str, agent: str, clock: FakeClock, **fields: Any) -> InboundEvent:
    fields.setdefault("text", "Hej")
    return InboundEvent(operator, InboundKind.TEXT, RECIPIENT, clock.now(), agent=agent, **fields)


class TestReceiptOperator:
    async def test_a_receipt_from_another_operator_is_ignored_and_not_retried(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        message_id = await sent_through(context, api, sender, "rbm")

        await context.receipts.handle([receipt("maap", message_id, clock)])

        assert await journey(context, message_id) == [("Sent", "rbm")]
        assert await jobs_of_kind(context, "match_receipt") == []

    async def test_a_receipt_from_the_sending_operator_applies(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        message_id = await sent_through(context, api, sender, "rbm")

        await context.receipts.handle([receipt("rbm", message_id, clock)])

        assert await journey(context, message_id) == [("Sent", "rbm"), ("Delivered", "rbm")]

    async def test_a_receipt_that_beats_the_send_applies_from_an_operator_of_the_agent(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        message_id = await queued(api, sender)

        await context.receipts.handle([receipt("rbm", message_id, clock)])

        assert await journey(context, message_id) == [("Delivered", "rbm")]
        assert await jobs_of_kind(context, "match_receipt") == []

    async def test_a_receipt_before_the_send_from_an_operator_the_agent_is_not_at_is_ignored(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        message_id = await queued(api, sender)  # the agent is launched at rbm only

        await context.receipts.handle([receipt("maap", message_id, clock)])

        assert await journey(context, message_id) == []
        assert await jobs_of_kind(context, "match_receipt") == []


async def queued(api: httpx.AsyncClient, sender: Sender) -> str:
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": RECIPIENT}
    response = await api.post("/v3/conversations", json={**body, "content": "Hej"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestInboundAgent:
    async def test_a_message_for_an_agent_not_launched_at_the_operator_is_not_stored(
        self, context: AppContext, sender: Sender, tenant: Tenant, clock: FakeClock
    ) -> None:
        agent = await agent_id(context, tenant)  # launched at rbm only

        await context.receipts.handle([user_says("maap", agent, clock, event_id="m-1")])

        assert await count_rows(context, Message, direction="Inbound") == 0
        assert await count_rows(context, Conversation) == 0

    async def test_a_message_for_an_agent_launched_at_the_operator_is_stored(
        self, context: AppContext, sender: Sender, tenant: Tenant, clock: FakeClock
    ) -> None:
        agent = await agent_id(context, tenant)

        await context.receipts.handle([user_says("rbm", agent, clock, event_id="r-1")])

        assert await count_rows(context, Message, direction="Inbound", operator="rbm") == 1

    async def test_a_user_event_for_an_agent_not_launched_at_the_operator_is_dropped(
        self, context: AppContext, sender: Sender, tenant: Tenant, clock: FakeClock
    ) -> None:
        await set_account_url(context, tenant.account_id, "https://account.example/hook")
        agent = await agent_id(context, tenant)
        typing = InboundEvent("maap", InboundKind.TYPING, RECIPIENT, clock.now(), agent=agent)

        await context.receipts.handle([typing])

        assert await deliveries(context) == []
