"""SMS replies reach the account whose SMS they answer, over the real SMPP path: two accounts
text the same number through the simulated SMSC, the phone answers one sender."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from rcsgate.app import create_app
from rcsgate.connectors.base import InboundEvent, InboundKind
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.models import UnroutableInbound
from tests.conftest import Tenant, TenantFactory
from tests.fixtures.messaging import Sender, grant_sms_sender, launched_sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]

CUSTOMER = "46700000002"  # no RCS: only SMS reaches it


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


@dataclass
class Shop:
    """An account that texts the customer, its API client and its agent."""

    api: httpx.AsyncClient
    sender: Sender

    async def text(self, p: Platform, sms_sender: str) -> dict[str, Any]:
        """An SMS (RCS is out of reach) from `sms_sender`, once the phone has it."""
        body = {
            "brand": self.sender.brand,
            "agent": self.sender.agent,
            "recipient": CUSTOMER,
            "content": "Hej!",
            "fallback": {"sms": {"content": "Hej!", "sender": sms_sender}},
        }
        response = await self.api.post("/v3/conversations", json=body)
        assert response.status_code == 201, response.text
        sent = dict(response.json())
        await p.run_jobs()
        await p.wait_until(lambda: self._delivered(sent["id"]))
        return sent

    async def _delivered(self, message_id: str) -> bool:
        response = await self.api.get(f"/v3/messages/{message_id}")
        return bool(response.json()["status"] == "Delivered")

    async def replies(self, conversation_id: str) -> list[str]:
        path = f"/v3/conversations/{conversation_id}/messages"
        messages = (await self.api.get(path)).json()
        return [m["content"] for m in messages if m["direction"] == "Inbound"]


@pytest.fixture
async def shops(
    platform: Platform, context: AppContext, tenant: Tenant, make_tenant: TenantFactory
) -> AsyncIterator[tuple[Shop, Shop]]:
    """Shop A (the platform's tenant) and shop B, each with its own launched agent."""
    other = await make_tenant(name="Other shop")
    b_sender = await launched_sender(context, other.account_id, brand="annan-butik")
    b_api = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(context=context), client=("203.0.113.9", 1)),
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {other.token}"},
    )
    a_sender = await launched_sender(context, tenant.account_id)
    for account_id in (tenant.account_id, other.account_id):
        for sms_sender in ("72345", "72999"):
            await grant_sms_sender(context, account_id, sms_sender)
    yield Shop(platform.api, a_sender), Shop(b_api, b_sender)
    await b_api.aclose()


async def unroutable(p: Platform) -> list[UnroutableInbound]:
    async with p.context.sessionmaker() as session:
        return list(await session.scalars(select(UnroutableInbound)))


def unroutable_count(reason: str) -> float:
    labels = {"operator": "smpp", "reason": reason}
    return REGISTRY.get_sample_value("rcsgate_inbound_unroutable_total", labels) or 0.0


class TestSmsReplies:
    async def test_a_reply_goes_to_the_account_whose_sender_it_answers(
        self, platform: Platform, shops: tuple[Shop, Shop], clock: FakeClock
    ) -> None:
        a, b = shops
        to_a = await a.text(platform, "72345")
        clock.advance(60)
        to_b = await b.text(platform, "72999")  # B wrote last, from its own sender

        await platform.simulator.smsc.send_mo(CUSTOMER, "Jag vill avboka", "72345")

        assert await platform.wait_until(lambda: a.replies(to_a["conversationId"])) == [
            "Jag vill avboka"
        ]
        assert await b.replies(to_b["conversationId"]) == []

    async def test_a_reply_to_a_sender_both_accounts_used_is_kept_unroutable(
        self, platform: Platform, shops: tuple[Shop, Shop]
    ) -> None:
        a, b = shops
        to_a = await a.text(platform, "72345")
        to_b = await b.text(platform, "72345")
        before = unroutable_count("ambiguous")

        await platform.simulator.smsc.send_mo(CUSTOMER, "Vem är du?", "72345")

        [kept] = await platform.wait_until(lambda: unroutable(platform))
        assert (kept.msisdn, kept.to, kept.text) == (CUSTOMER, "72345", "Vem är du?")
        assert (kept.reason, kept.accounts) == ("ambiguous", 2)
        assert unroutable_count("ambiguous") == before + 1
        assert await a.replies(to_a["conversationId"]) == []
        assert await b.replies(to_b["conversationId"]) == []

    async def test_a_reply_to_a_sender_nobody_used_with_the_number_is_kept_unroutable(
        self, platform: Platform, shops: tuple[Shop, Shop]
    ) -> None:
        a, _ = shops
        to_a = await a.text(platform, "72345")

        await platform.simulator.smsc.send_mo(CUSTOMER, "Hallå?", "71111")

        [kept] = await platform.wait_until(lambda: unroutable(platform))
        assert (kept.to, kept.reason, kept.accounts) == ("71111", "no_route", 0)
        assert await a.replies(to_a["conversationId"]) == []

    async def test_within_the_account_the_agent_that_wrote_last_gets_the_reply(
        self,
        platform: Platform,
        shops: tuple[Shop, Shop],
        context: AppContext,
        tenant: Tenant,
        clock: FakeClock,
    ) -> None:
        a, _ = shops
        second = Shop(a.api, await launched_sender(context, tenant.account_id, brand="butik-tva"))
        await a.text(platform, "72345")
        clock.advance(60)
        later = await second.text(platform, "72345")

        await platform.simulator.smsc.send_mo(CUSTOMER, "Tack", "+72345")

        assert await platform.wait_until(lambda: second.replies(later["conversationId"])) == [
            "Tack"
        ]


def crash_once_after_commit(p: Platform) -> None:
    """The next user message is committed, then the process "dies" before the SMSC gets its
    deliver_sm_resp: the connector answers an error, as a restarted one would answer nothing,
    and the SMSC delivers the message again."""
    handle = p.context.receipts.handle
    crashed = False

    async def commit_then_crash(events: Sequence[InboundEvent]) -> None:
        nonlocal crashed
        await handle(events)
        if not crashed and any(e.kind is InboundKind.TEXT for e in events):
            crashed = True
            raise RuntimeError("killed before the deliver_sm_resp")

    p.context.receipts.handle = commit_then_crash  # type: ignore[method-assign]


class TestRedelivery:
    async def test_an_mo_delivered_again_after_a_crash_is_stored_once(
        self, platform: Platform, shops: tuple[Shop, Shop]
    ) -> None:
        a, _ = shops
        to_a = await a.text(platform, "72345")
        crash_once_after_commit(platform)

        await platform.simulator.smsc.send_mo(CUSTOMER, "Avboka min tid", "72345")

        assert await a.replies(to_a["conversationId"]) == ["Avboka min tid"]

    async def test_a_long_mo_delivered_again_after_a_crash_is_stored_once(
        self, platform: Platform, shops: tuple[Shop, Shop]
    ) -> None:
        a, _ = shops
        to_a = await a.text(platform, "72345")
        crash_once_after_commit(platform)
        text = "Hej! Jag kan inte komma på tisdag, kan vi flytta tiden? " * 4

        await platform.simulator.smsc.send_mo(CUSTOMER, text, "72345")

        assert await a.replies(to_a["conversationId"]) == [text]

    async def test_the_same_text_after_the_duplicate_window_is_a_new_message(
        self, platform: Platform, shops: tuple[Shop, Shop], clock: FakeClock
    ) -> None:
        a, _ = shops
        to_a = await a.text(platform, "72345")
        await platform.simulator.smsc.send_mo(CUSTOMER, "Ja", "72345")
        clock.advance(platform.context.settings.sms_duplicate_window + 1)

        await platform.simulator.smsc.send_mo(CUSTOMER, "Ja", "72345")

        assert await a.replies(to_a["conversationId"]) == ["Ja", "Ja"]

    async def test_an_unroutable_mo_delivered_again_is_kept_once(
        self, platform: Platform, shops: tuple[Shop, Shop]
    ) -> None:
        crash_once_after_commit(platform)

        await platform.simulator.smsc.send_mo(CUSTOMER, "Hallå?", "71111")

        assert [kept.text for kept in await unroutable(platform)] == ["Hallå?"]
