"""Which events are queued, for which URL, in the transaction of the change they report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from rcsgate.agents.service import record_launch_result
from rcsgate.connectors.base import InboundEvent, InboundKind
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.messages.state import Step, record, record_many
from rcsgate.models import Agent
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
from tests.fixtures.webhooks import deliveries, set_account_url

REQUEST_URL = "https://request.example/hook"
AGENT_URL = "https://agent.example/hook"
ACCOUNT_URL = "https://account.example/hook"


async def send(
    api: httpx.AsyncClient, sender: Sender, recipient: str = "46700000001", **extra: Any
) -> dict[str, Any]:
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": recipient, "content": "Hej"}
    response = await api.post("/v3/conversations", json={**body, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def steps(context: AppContext, *batch: Step) -> list[bool]:
    async with context.sessionmaker.begin() as session:
        return [await record(session, step) for step in batch]


async def set_agent_url(api: httpx.AsyncClient, sender: Sender, url: str | None) -> None:
    path = f"/v3/brands/{sender.brand}/agents/{sender.agent}"
    response = await api.patch(path, json={"deliveryReportUrl": url})
    assert response.status_code == 200, response.text


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, clause: Any, *_args: Any) -> None:
        seen.append(str(clause).split()[0])

    event.listen(engine.sync_engine, "before_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_execute", count)


class TestMessageStatus:
    async def test_every_move_is_one_event_with_a_rising_sequence(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        message = await send(api, sender, deliveryReportUrl=REQUEST_URL, reference="order-7")
        now = clock.now()
        mid = message["id"]
        moved = await steps(
            context,
            Step(mid, "Sent", "RCS", now, operator="rbm"),
            Step(mid, "Delivered", "RCS", now + timedelta(seconds=1), operator="rbm"),
            Step(mid, "Read", "RCS", now + timedelta(seconds=2), operator="rbm"),
        )

        assert moved == [True, True, True]
        found = await deliveries(context, type="message.status")
        assert [(d.data["status"], d.data["sequence"]) for d in found] == [
            ("Sent", 1),
            ("Delivered", 2),
            ("Read", 3),
        ]
        data = found[0].data
        assert data == {
            "messageId": mid,
            "bundleId": None,
            "conversationId": message["conversationId"],
            "recipient": "46700000001",
            "status": "Sent",
            "channel": "RCS",
            "operator": "rbm",
            "reason": None,
            "price": 0.45,
            "currency": "SEK",
            "reference": "order-7",
            "sequence": 1,
        }
        assert found[2].created_at == now + timedelta(seconds=2)

    async def test_a_step_that_does_not_move_the_status_emits_nothing(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        mid = (await send(api, sender, deliveryReportUrl=REQUEST_URL))["id"]
        now = clock.now()
        await steps(context, Step(mid, "Sent", "RCS", now), Step(mid, "Read", "RCS", now))
        late = await steps(context, Step(mid, "Delivered", "RCS", now))  # after Read
        async with context.sessionmaker.begin() as session:
            await record_many(session, [Step(mid, "Read", "RCS", now)])  # a repeat

        assert late == [False]
        found = await deliveries(context, type="message.status")
        assert [d.data["status"] for d in found] == ["Sent", "Read"]

    async def test_record_many_costs_the_same_statements_for_one_message_or_fifty(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        ids = [
            (await send(api, sender, f"4670000{n:04d}", deliveryReportUrl=REQUEST_URL))["id"]
            for n in range(51)
        ]
        counts = []
        for batch in (ids[:1], ids[1:]):
            with statements(context.engine) as seen:
                async with context.sessionmaker.begin() as session:
                    await record_many(session, [Step(m, "Sent", "RCS", clock.now()) for m in batch])
            counts.append(len(seen))

        assert counts[0] == counts[1]
        assert len(await deliveries(context, type="message.status")) == 51

    async def test_a_rolled_back_change_leaves_no_event(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        mid = (await send(api, sender, deliveryReportUrl=REQUEST_URL))["id"]
        async with context.sessionmaker() as session:
            await record(session, Step(mid, "Sent", "RCS", clock.now()))
            await session.rollback()

        assert await deliveries(context, type="message.status") == []

    async def test_a_cancelled_bundle_reports_each_message(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "recipients": ["46700000001", "46700000002"],
            "content": "Rea!",
            "deliveryReportUrl": REQUEST_URL,
        }
        bundle = (await api.post("/v3/bundles", json=body)).json()
        assert (await api.delete(f"/v3/bundles/{bundle['id']}")).status_code == 200

        found = await deliveries(context, type="message.status")
        assert sorted(d.data["status"] for d in found) == ["Cancelled", "Cancelled"]
        assert {d.data["bundleId"] for d in found} == {bundle["id"]}


class TestUrlResolution:
    async def test_the_request_then_the_agent_then_the_account_when_the_event_happens(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        clock: FakeClock,
    ) -> None:
        async def sent(recipient: str, **extra: Any) -> str:
            mid = str((await send(api, sender, recipient, **extra))["id"])
            await steps(context, Step(mid, "Sent", "RCS", clock.now()))
            return mid

        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        await set_agent_url(api, sender, AGENT_URL)
        with_request = await sent("46700000011", deliveryReportUrl=REQUEST_URL)
        with_agent = await sent("46700000012")
        await set_agent_url(api, sender, None)
        with_account = await sent("46700000013")
        await set_account_url(context, tenant.account_id, None)
        await sent("46700000014")

        found = await deliveries(context, type="message.status")
        urls = {d.message_id: await _url(context, d.endpoint_id) for d in found}
        assert urls == {with_request: REQUEST_URL, with_agent: AGENT_URL, with_account: ACCOUNT_URL}

    async def test_a_follow_up_uses_the_conversation_url(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock
    ) -> None:
        first = await send(api, sender, deliveryReportUrl=REQUEST_URL)
        path = f"/v3/conversations/{first['conversationId']}/messages"
        follow = (await api.post(path, json={"content": "Och en till"})).json()
        await steps(context, Step(follow["id"], "Sent", "RCS", clock.now()))

        [status] = await deliveries(context, type="message.status")
        assert await _url(context, status.endpoint_id) == REQUEST_URL


async def _url(context: AppContext, endpoint_id: str) -> str:
    from rcsgate.models import WebhookEndpoint

    async with context.sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        return endpoint.url


def inbound(kind: InboundKind, clock: FakeClock, agent_id: str, **fields: Any) -> InboundEvent:
    return InboundEvent("rbm", kind, "46700000005", clock.now(), agent=agent_id, **fields)


async def agent_id(context: AppContext, tenant: Tenant) -> str:
    from sqlalchemy import select

    async with context.sessionmaker() as session:
        found = await session.scalar(select(Agent.id).where(Agent.account_id == tenant.account_id))
        assert found is not None
        return found


class TestUserAndConversationEvents:
    async def test_a_tap_opens_a_conversation_and_is_an_inbound_event(
        self, context: AppContext, sender: Sender, tenant: Tenant, clock: FakeClock
    ) -> None:
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        agent = await agent_id(context, tenant)
        tap = inbound(
            InboundKind.SUGGESTION,
            clock,
            agent,
            event_id="op-1",
            text="Ja tack",
            postback_data="offer-yes",
        )
        await context.receipts.handle([tap])
        await context.receipts.handle([tap])  # at least once from the operator

        started, message = await deliveries(context)
        assert (started.type, started.data["startedBy"], started.data["status"]) == (
            "conversation.started",
            "User",
            "Open",
        )
        assert message.type == "message.inbound"
        assert {k: message.data[k] for k in ("text", "postbackData", "recipient", "agent")} == {
            "text": "Ja tack",
            "postbackData": "offer-yes",
            "recipient": "46700000005",
            "agent": sender.agent,
        }
        assert message.data["conversationId"] == started.data["conversationId"]

    async def test_typing_subscribe_and_unsubscribe(
        self, context: AppContext, sender: Sender, tenant: Tenant, clock: FakeClock
    ) -> None:
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        agent = await agent_id(context, tenant)
        await context.receipts.handle(
            [
                inbound(kind, clock, agent)
                for kind in (InboundKind.TYPING, InboundKind.SUBSCRIBE, InboundKind.UNSUBSCRIBE)
            ]
        )

        found = await deliveries(context)
        assert sorted(d.type for d in found) == [
            "user.subscribed",
            "user.typing",
            "user.unsubscribed",
        ]
        assert {d.data["recipient"] for d in found} == {"46700000005"}

    async def test_user_events_follow_the_open_conversation_url(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        clock: FakeClock,
    ) -> None:
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        conversation = await send(api, sender, "46700000005", deliveryReportUrl=REQUEST_URL)
        await context.receipts.handle(
            [inbound(InboundKind.TYPING, clock, await agent_id(context, tenant))]
        )

        [typing] = await deliveries(context, type="user.typing")
        assert typing.data["conversationId"] == conversation["conversationId"]
        assert await _url(context, typing.endpoint_id) == REQUEST_URL

    async def test_starting_and_closing_conversations(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, tenant: Tenant
    ) -> None:
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        first = (await send(api, sender))["conversationId"]
        second = (await send(api, sender))["conversationId"]  # closes the first
        assert (await api.post(f"/v3/conversations/{second}/close")).status_code == 200

        found = [(d.type, d.data["conversationId"]) for d in await deliveries(context)]
        assert found == [
            ("conversation.started", first),
            ("conversation.closed", first),
            ("conversation.started", second),
            ("conversation.closed", second),
        ]

    @pytest.mark.parametrize("level", ["request", "agent", "account", "none"])
    async def test_a_start_is_announced_at_the_first_url_it_has(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        level: str,
    ) -> None:
        """The group commit looks for a URL before it emits (conversations.committer): the
        request's, the agent's or the account's each gets the event; no URL, no event."""
        if level == "agent":
            await set_agent_url(api, sender, AGENT_URL)
        if level == "account":
            await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        extra = {"deliveryReportUrl": REQUEST_URL} if level == "request" else {}
        started = (await send(api, sender, "46700000021", **extra))["conversationId"]

        found = await deliveries(context, type="conversation.started")
        if level == "none":
            assert found == []
            return
        [event] = found
        assert event.data["conversationId"] == started
        expected = {"request": REQUEST_URL, "agent": AGENT_URL, "account": ACCOUNT_URL}[level]
        assert await _url(context, event.endpoint_id) == expected

    async def test_a_grouped_start_queues_the_events_a_single_start_does(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, tenant: Tenant
    ) -> None:
        """A start that joins the group commit (which on PostgreSQL first asks whether any URL
        could want an event) queues the same events as one under an Idempotency-Key, which
        always runs the emitter."""
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        for recipient, headers in (("46700000031", {}), ("46700000032", {"Idempotency-Key": "k"})):
            for n in range(2):  # the second start closes the first
                body = {"brand": sender.brand, "agent": sender.agent, "recipient": recipient}
                key = {k: f"{v}-{n}" for k, v in headers.items()}
                response = await api.post(
                    "/v3/conversations",
                    json={**body, "content": "Hej", "reference": "r"},
                    headers=key,
                )
                assert response.status_code == 201, response.text

        delivered = await deliveries(context)

        def shape(recipient: str) -> list[tuple[str, dict[str, Any], str]]:
            ids: dict[str, str] = {}
            found = []
            for d in delivered:
                if d.data["recipient"] != recipient:
                    continue
                data = {**d.data, "recipient": "<r>"}
                data["conversationId"] = ids.setdefault(data["conversationId"], f"c{len(ids)}")
                found.append((d.type, data, d.created_at.isoformat()))
            return found

        grouped, single = shape("46700000031"), shape("46700000032")
        assert [t for t, _, _ in grouped] == [
            "conversation.started",
            "conversation.closed",
            "conversation.started",
        ]
        assert grouped == single


class TestAgentStatus:
    async def test_launch_request_and_result(
        self, context: AppContext, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await set_account_url(context, tenant.account_id, ACCOUNT_URL)
        await api.post("/v3/brands", json={"displayName": "Acme", "brandName": "acme"})
        await api.post(
            "/v3/brands/acme/agents", json={"displayName": "Offers", "agentName": "offers"}
        )
        assert (await api.post("/v3/brands/acme/agents/offers/launch")).status_code == 202
        async with context.sessionmaker.begin() as session:
            from sqlalchemy import select

            agent = await session.scalar(select(Agent).where(Agent.agent_name == "offers"))
            assert agent is not None
            await record_launch_result(session, context.clock, agent, "rbm", "Launched")
            await record_launch_result(session, context.clock, agent, "rbm", "Launched")  # again

        found = await deliveries(context, type="agent.status")
        assert [d.data["status"] for d in found] == ["Submitted", "Launched"]
        assert found[1].data["operators"][0] == {"operator": "maap", "status": "Submitted"}
        assert {"operator": "rbm", "status": "Launched"} in found[1].data["operators"]
