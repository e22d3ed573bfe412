"""The sender a send names is read once per process and TTL (agents/cache.py); every change
through the brands and agents services bites at once, another process's within the TTL."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from rcsgate.agents.service import get_agent, record_launch_result
from rcsgate.brands.schemas import BrandUpdate
from rcsgate.brands.service import update_brand
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.models import Agent, Message
from tests.conftest import Tenant
from tests.fixtures.database import statements_run
from tests.fixtures.ip1 import E6_CONVERSATION
from tests.fixtures.messaging import Sender

AGENT_PATH = "/v3/brands/min-butik-ab/agents/kundservice"
numbers = iter(range(46700200000, 46700299999))


async def send(api: httpx.AsyncClient, **fields: object) -> httpx.Response:
    """A send to a new recipient each time, so no conversation is closed in between."""
    return await api.post(
        "/v3/conversations", json={**E6_CONVERSATION, "recipient": str(next(numbers)), **fields}
    )


async def traffic_type(context: AppContext, message_id: str) -> str:
    async with context.sessionmaker() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    assert message.content is not None
    return str(message.content["trafficType"])


def sender_reads(statements: list[str]) -> list[str]:
    """The reads of brands or agents (the group commit's write also asks whether an agent has
    a webhook URL: that is no sender lookup)."""
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    return [s for s in reads if "FROM brands" in s or "FROM agents" in s]


class TestHotPath:
    async def test_a_repeated_send_reads_no_brand_or_agent(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        assert (await send(api)).status_code == 201

        with statements_run(context.engine) as statements:
            response = await send(api)

        assert response.status_code == 201, response.text
        assert sender_reads(statements) == []

    async def test_a_repeated_follow_up_reads_no_brand_or_agent(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        conversation = (await send(api)).json()["conversationId"]
        follow_up = f"/v3/conversations/{conversation}/messages"
        assert (await api.post(follow_up, json={"content": "1"})).status_code == 201

        with statements_run(context.engine) as statements:
            response = await api.post(follow_up, json={"content": "2"})

        assert response.status_code == 201, response.text
        assert sender_reads(statements) == []


class TestChangesThroughTheServices:
    async def test_a_deleted_agent_refuses_the_next_send(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        assert (await send(api)).status_code == 201

        assert (await api.delete(AGENT_PATH)).status_code == 200

        assert (await send(api)).status_code == 404

    async def test_an_updated_agent_sends_with_its_new_use_case(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        first = (await send(api)).json()["id"]

        assert (await api.patch(AGENT_PATH, json={"useCase": "Promotional"})).status_code == 200

        second = (await send(api)).json()["id"]
        assert await traffic_type(context, first) == "Transaction"
        assert await traffic_type(context, second) == "Promotion"

    async def test_a_renamed_brand_no_longer_answers_to_its_old_display_name(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        assert (await send(api, brand="Min Butik AB")).status_code == 201

        async with context.sessionmaker.begin() as session:  # the portal's edit form
            await update_brand(
                session, tenant.account_id, sender.brand, BrandUpdate(display_name="Ny Butik")
            )

        assert (await send(api, brand="Min Butik AB")).status_code == 404

    async def test_a_rejected_launch_refuses_the_next_send(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        assert (await send(api)).status_code == 201

        async with context.sessionmaker.begin() as session:
            view = await get_agent(session, tenant.account_id, sender.brand, sender.agent)
            await record_launch_result(session, context.clock, view.agent, "rbm", "Rejected")

        assert (await send(api)).status_code == 409


class TestChangesElsewhere:
    async def test_another_process_change_bites_once_the_entry_expires(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        context: AppContext,
        clock: FakeClock,
        tenant: Tenant,
    ) -> None:
        assert (await send(api)).status_code == 201
        async with context.engine.begin() as connection:  # as another process: no cache told
            await connection.execute(
                update(Agent).where(Agent.account_id == tenant.account_id).values(status="Draft")
            )

        assert (await send(api)).status_code == 201
        clock.advance(context.settings.sender_cache_seconds)
        assert (await send(api)).status_code == 409

    async def test_a_refusal_is_not_remembered(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        async with context.engine.begin() as connection:
            await connection.execute(
                update(Agent).where(Agent.account_id == tenant.account_id).values(status="Draft")
            )
        assert (await send(api)).status_code == 409
        async with context.engine.begin() as connection:
            await connection.execute(
                update(Agent).where(Agent.account_id == tenant.account_id).values(status="Launched")
            )

        assert (await send(api)).status_code == 201
