"""SMS sender IDs are per account: a send naming one the account was not given is refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from rcsgate.context import AppContext
from rcsgate.models import Agent
from tests.conftest import ClientFactory, Tenant, TenantFactory
from tests.fixtures.ip1 import E6_CONVERSATION
from tests.fixtures.messaging import Sender, grant_sms_sender
from tests.fixtures.platform import Platform, platform
from tests.test_gate import assert_problem

__all__ = ["platform"]

SMS_SENDER = "/fallback/sms/sender"


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


def with_sender(sender: str | None, **fallback: object) -> dict[str, object]:
    sms = {"content": "Din kod: 1234"} | ({"sender": sender} if sender else {})
    return {**E6_CONVERSATION, "fallback": {"sms": sms, **fallback}}


async def set_agent_sender(context: AppContext, sender: str) -> None:
    async with context.sessionmaker.begin() as session:
        await session.execute(update(Agent).values(sms_sender=sender))


def assert_refused(response: httpx.Response, pointer: str) -> None:
    body = assert_problem(response, 403, "sms-sender-not-verified")
    assert [error["field"] for error in body["errors"]] == [pointer]


class TestConversations:
    async def test_an_unverified_sender_is_refused(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        assert_refused(await api.post("/v3/conversations", json=with_sender("Bank")), SMS_SENDER)

    async def test_a_verified_sender_is_accepted(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        await grant_sms_sender(context, tenant.account_id, "MinButik")
        response = await api.post("/v3/conversations", json=with_sender("MinButik"))
        assert response.status_code == 201, response.text

    async def test_another_accounts_sender_is_refused(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        context: AppContext,
        make_tenant: TenantFactory,
    ) -> None:
        other = await make_tenant(name="Bank")
        await grant_sms_sender(context, other.account_id, "Bank")
        assert_refused(await api.post("/v3/conversations", json=with_sender("Bank")), SMS_SENDER)

    async def test_a_sender_added_but_not_verified_is_refused(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        await grant_sms_sender(context, tenant.account_id, "MinButik", verified=False)
        response = await api.post("/v3/conversations", json=with_sender("MinButik"))
        assert_refused(response, SMS_SENDER)

    async def test_a_number_matches_with_or_without_its_plus(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        await grant_sms_sender(context, tenant.account_id, "+46700123456")
        response = await api.post("/v3/conversations", json=with_sender("46700123456"))
        assert response.status_code == 201, response.text

    async def test_the_platform_default_sender_is_always_allowed(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        platform = context.settings.sms_sender
        response = await api.post("/v3/conversations", json=with_sender(platform))
        assert response.status_code == 201, response.text

    async def test_no_sender_anywhere_sends_as_the_platform(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        response = await api.post("/v3/conversations", json=with_sender(None))
        assert response.status_code == 201, response.text

    async def test_an_unverified_agent_sender_is_refused_when_the_message_may_go_by_sms(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        await set_agent_sender(context, "Bank")
        assert_refused(await api.post("/v3/conversations", json=with_sender(None)), "/agent")

    async def test_without_a_fallback_no_sender_is_checked(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        await set_agent_sender(context, "Bank")
        response = await api.post("/v3/conversations", json=E6_CONVERSATION)
        assert response.status_code == 201, response.text

    async def test_a_follow_up_is_checked_too(self, api: httpx.AsyncClient, sender: Sender) -> None:
        started = (await api.post("/v3/conversations", json=E6_CONVERSATION)).json()
        path = f"/v3/conversations/{started['conversationId']}/messages"
        body = {"content": "Hej", "fallback": {"sms": {"sender": "Bank"}}}
        assert_refused(await api.post(path, json=body), SMS_SENDER)


class TestBundles:
    @pytest.mark.parametrize("verified", [True, False])
    async def test_a_bundles_sender_must_be_verified(
        self,
        client_for: ClientFactory,
        tenant: Tenant,
        sender: Sender,
        context: AppContext,
        verified: bool,
    ) -> None:
        if verified:
            await grant_sms_sender(context, tenant.account_id, "MinButik")
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "recipients": ["46700123456", "46700123457"],
            "content": "Vår-REA!",
            "fallback": {"sms": {"sender": "MinButik"}},
        }
        response = await client_for(token=tenant.token).post("/v3/bundles", json=body)
        if verified:
            assert response.status_code == 201, response.text
        else:
            assert_refused(response, SMS_SENDER)


class TestSending:
    async def test_the_sms_goes_out_as_the_sender_checked_at_accept(
        self, platform: Platform, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        await grant_sms_sender(context, tenant.account_id, "MinButik")
        await set_agent_sender(context, "MinButik")
        body = with_sender(None) | {"recipient": "46700000002"}
        accepted = await platform.api.post("/v3/conversations", json=body)
        assert accepted.status_code == 201, accepted.text
        agent_path = f"/v3/brands/{sender.brand}/agents/{sender.agent}"
        changed = await platform.api.patch(agent_path, json={"smsSender": "Bank"})
        assert changed.status_code == 200, changed.text

        await platform.run_jobs()

        [sms] = platform.simulator.smsc.submitted
        assert sms.sender == "MinButik"
