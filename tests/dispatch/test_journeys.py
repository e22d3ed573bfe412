"""Every documented test number's whole journey: API → job → connector → simulator over real
HTTP (and SMPP) → receipts back through /operators/{name}/callback → the message's status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rcsgate.models import Agent
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender, grant_sms_sender, launched_sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]

FALLBACK = {"sms": {"content": "Your code is 123456"}}


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


async def send(p: Platform, sender: Sender, recipient: str, **content: Any) -> dict[str, Any]:
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": recipient, **content}
    body.setdefault("content", "Hej!")
    response = await p.api.post("/v3/conversations", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestJourneys:
    async def test_rcs_delivered_then_read(self, platform: Platform, sender: Sender) -> None:
        message_id = (await send(platform, sender, "46700000001"))["id"]
        assert await platform.run_jobs() == 1
        message = await platform.wait_for(message_id, "Read")
        assert (message["channel"], [e["status"] for e in message["events"]]) == (
            "RCS",
            ["Queued", "Sent", "Delivered", "Read"],
        )
        assert message["events"][1]["operator"] == "rbm"

    async def test_no_rcs_goes_by_sms_when_fallback_allows(
        self, platform: Platform, sender: Sender
    ) -> None:
        conversation = await send(platform, sender, "46700000002", fallback=FALLBACK)
        message_id = conversation["id"]
        await platform.run_jobs()
        message = await platform.wait_for(message_id, "Delivered")
        assert message["channel"] == "SMS"
        assert await platform.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]
        [sms] = platform.simulator.smsc.submitted
        assert (sms.msisdn, sms.text) == ("46700000002", "Your code is 123456")

    async def test_no_rcs_without_fallback_fails(self, platform: Platform, sender: Sender) -> None:
        message_id = (await send(platform, sender, "46700000002"))["id"]
        await platform.run_jobs()
        message = await platform.message(message_id)
        assert (message["status"], message["statusReason"]) == (
            "Failed",
            "the recipient cannot receive RCS",
        )

    async def test_offline_rcs_falls_back_after_the_revoke_is_confirmed(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        conversation = await send(
            platform, sender, "46700000003", fallback={**FALLBACK, "after": 60}
        )
        message_id = conversation["id"]
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Sent"
        clock.advance(59)
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Sent"
        clock.advance(1)
        await platform.run_jobs()  # fallback check: revoke, then the SMS job, then the SMS
        message = await platform.wait_for(message_id, "Delivered")
        assert await platform.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Revoked", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]
        assert message["channel"] == "SMS"
        assert platform.simulator.rbm.messages[message_id]  # the RCS attempt was made...
        assert not platform.simulator.network.is_delivered(message_id)  # ...and never delivered

    async def test_ttl_expiry_revokes_and_falls_back(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        conversation = await send(platform, sender, "46700000003", ttl=30, fallback=FALLBACK)
        message_id = conversation["id"]
        await platform.run_jobs()
        clock.advance(30)
        await platform.run_jobs()
        await platform.wait_for(message_id, "Delivered")
        assert await platform.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Expired", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]

    async def test_ttl_expiry_without_fallback_ends_expired(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        message_id = (await send(platform, sender, "46700000003", ttl=5))["id"]
        await platform.run_jobs()
        clock.advance(5)
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Expired"
        assert platform.simulator.smsc.submitted == []

    async def test_the_operator_rejects(self, platform: Platform, sender: Sender) -> None:
        message_id = (await send(platform, sender, "46700000004"))["id"]
        await platform.run_jobs()
        message = await platform.message(message_id)
        assert message["status"] == "Failed"
        assert "403" in message["statusReason"]

    async def test_the_answering_phone_replies_in_the_conversation(
        self, platform: Platform, sender: Sender
    ) -> None:
        conversation = await send(
            platform,
            sender,
            "46700000005",
            suggestions=[{"type": "Reply", "text": "Ja tack", "postbackData": "yes"}],
        )
        message_id = conversation["id"]
        await platform.run_jobs()
        await platform.wait_for(message_id, "Read")

        async def answered() -> list[dict[str, Any]]:
            response = await platform.api.get(
                f"/v3/conversations/{conversation['conversationId']}/messages"
            )
            return [m for m in response.json() if m["direction"] == "Inbound"]

        [reply] = await platform.wait_until(answered)
        assert (reply["status"], reply["postbackData"], reply["recipient"]) == (
            "Received",
            "yes",
            "46700000005",
        )

    async def test_the_slow_phone_is_delivered_late(
        self, platform: Platform, sender: Sender
    ) -> None:
        message_id = (await send(platform, sender, "46700000006"))["id"]
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Sent"
        await platform.wait_for(message_id, "Read")


class TestBundlesAndSchedules:
    async def test_a_bundle_reaches_every_recipient(
        self, platform: Platform, sender: Sender
    ) -> None:
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "content": "Hej {name}!",
            "recipients": {"46700000001": {"name": "Kalle"}, "46700000002": {"name": "Lisa"}},
            "fallback": {"sms": {}},
        }
        bundle = (await platform.api.post("/v3/bundles", json=body)).json()
        await platform.run_jobs()

        async def settled() -> dict[str, int] | None:
            found = (await platform.api.get(f"/v3/bundles/{bundle['id']}")).json()
            counts: dict[str, int] = found["statusCounts"]
            return counts if counts.get("Read") == 1 and counts.get("Delivered") == 1 else None

        assert await platform.wait_until(settled) == {"Read": 1, "Delivered": 1}
        [sms] = platform.simulator.smsc.submitted
        assert (sms.msisdn, sms.text) == ("46700000002", "Hej Lisa!")

    async def test_a_cancelled_bundle_sends_nothing(
        self, platform: Platform, sender: Sender
    ) -> None:
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "content": "Rea!",
            "recipients": ["46700000001", "46700000005"],
        }
        bundle = (await platform.api.post("/v3/bundles", json=body)).json()
        assert (await platform.api.delete(f"/v3/bundles/{bundle['id']}")).status_code < 300
        await platform.run_jobs()
        assert platform.simulator.rbm.messages == {}

    async def test_a_scheduled_message_waits_for_its_time(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        send_at = (clock.now() + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "content": "Snart!",
            "recipients": ["46700000001"],
            "sendAt": send_at,
        }
        bundle = (await platform.api.post("/v3/bundles", json=body)).json()
        [message] = (await platform.api.get(f"/v3/bundles/{bundle['id']}/messages")).json()
        message_id = message["id"]
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Scheduled"
        clock.advance(600)
        await platform.run_jobs()
        await platform.wait_for(message_id, "Read")


class TestRevokeRetriesAndInbound:
    async def test_revoke_on_request(self, platform: Platform, sender: Sender) -> None:
        message_id = (await send(platform, sender, "46700000003"))["id"]
        await platform.run_jobs()
        assert (await platform.api.delete(f"/v3/messages/{message_id}")).status_code == 202
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Revoked"

    async def test_revoking_a_delivered_message_fails(
        self, platform: Platform, sender: Sender
    ) -> None:
        platform.simulator.rbm.callback_url = None  # receipts never reach us: we still say Sent
        message_id = (await send(platform, sender, "46700000001"))["id"]
        await platform.run_jobs()
        await platform.simulator.network.played(message_id)
        assert (await platform.api.delete(f"/v3/messages/{message_id}")).status_code == 202
        await platform.run_jobs()
        message = await platform.message(message_id)
        assert message["status"] == "RevokeFailed"
        assert [e["status"] for e in message["events"]][-2:] == ["Delivered", "RevokeFailed"]

    async def test_operator_errors_are_retried_with_backoff(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        platform.simulator.rbm.faults.errors = 2
        message_id = (await send(platform, sender, "46700000001"))["id"]
        await platform.run_jobs()  # capability lookup: 500
        assert (await platform.message(message_id))["status"] == "Queued"
        for _ in range(2):
            clock.advance(300)  # past any backoff of the first attempts
            await platform.run_jobs()
        await platform.wait_for(message_id, "Read")

    async def test_throttling_waits_as_long_as_the_operator_asks(
        self, platform: Platform, sender: Sender, clock: Any
    ) -> None:
        faults = platform.simulator.rbm.faults
        faults.throttled, faults.retry_after = 1, 20
        message_id = (await send(platform, sender, "46700000001"))["id"]
        await platform.run_jobs()
        clock.advance(19)
        await platform.run_jobs()
        assert (await platform.message(message_id))["status"] == "Queued"
        clock.advance(1)
        await platform.run_jobs()
        await platform.wait_for(message_id, "Read")

    async def test_a_user_writing_first_opens_a_conversation(
        self, platform: Platform, sender: Sender
    ) -> None:
        async with platform.context.sessionmaker() as session:
            agent_id = await session.scalar(
                select(Agent.id).where(Agent.agent_name == sender.agent)
            )
        # Operators know the agent by our internal id, which the connectors send as agentId.
        await platform.simulator.rbm.user_says(
            "46700000009", str(agent_id), "Hej, finns storlek M?"
        )

        async def opened() -> list[dict[str, Any]]:
            found = (await platform.api.get("/v3/conversations")).json()
            return [c for c in found if c["recipient"] == "46700000009"]

        [conversation] = await platform.wait_until(opened)
        messages = (
            await platform.api.get(f"/v3/conversations/{conversation['id']}/messages")
        ).json()
        assert [(m["direction"], m["content"]) for m in messages] == [
            ("Inbound", "Hej, finns storlek M?")
        ]

    async def test_typing_reaches_the_user(self, platform: Platform, sender: Sender) -> None:
        conversation_id = (await send(platform, sender, "46700000001"))["conversationId"]
        response = await platform.api.post(
            f"/v3/conversations/{conversation_id}/events", json={"type": "Typing"}
        )
        assert response.status_code < 300, response.text
        await platform.run_jobs()
        assert [e["eventType"] for e in platform.simulator.rbm.agent_events] == ["IS_TYPING"]


class TestLaunch:
    async def test_a_launch_request_reaches_the_operator(
        self, platform: Platform, tenant: Tenant
    ) -> None:
        sender = await launched_sender(platform.context, tenant.account_id, launch=False)
        path = f"/v3/brands/{sender.brand}/agents/{sender.agent}"
        assert (await platform.api.post(f"{path}/launch")).status_code < 300
        await platform.run_jobs()
        agent = (await platform.api.get(path)).json()
        operators = {o["operator"]: o["status"] for o in agent["operators"]}
        # MaaP has no launch API: its chatbots are provisioned by the operator out of band.
        assert (agent["status"], operators) == (
            "Launched",
            {"rbm": "Launched", "maap": "Submitted"},
        )
        assert len(platform.simulator.rbm.launched) == 1


class TestBothWays:
    async def test_a_read_receipt_for_the_users_answer_reaches_the_operator(
        self, platform: Platform, sender: Sender
    ) -> None:
        sent = await send(platform, sender, "46700000005")
        await platform.run_jobs()

        async def answer() -> list[dict[str, Any]]:
            path = f"/v3/conversations/{sent['conversationId']}/messages"
            return [m for m in (await platform.api.get(path)).json() if m["direction"] == "Inbound"]

        [reply] = await platform.wait_until(answer)
        response = await platform.api.post(
            f"/v3/conversations/{sent['conversationId']}/events",
            json={"type": "Read", "messageId": reply["id"]},
        )
        assert response.status_code < 300, response.text
        await platform.run_jobs()
        [event] = platform.simulator.rbm.agent_events
        assert event["eventType"] == "READ"
        assert event["messageId"]
        assert event["messageId"] != reply["id"]

    async def test_sms_survives_a_dropped_bind(self, platform: Platform, sender: Sender) -> None:
        platform.simulator.smsc.drop_binds()
        message_id = (await send(platform, sender, "46700000002", fallback=FALLBACK))["id"]
        await platform.run_jobs()
        await platform.wait_for(message_id, "Delivered")

    async def test_an_sms_reply_joins_the_recipients_conversation(
        self, platform: Platform, sender: Sender, tenant: Tenant
    ) -> None:
        await grant_sms_sender(platform.context, tenant.account_id, "72345")
        fallback = {"sms": {**FALLBACK["sms"], "sender": "72345"}}
        sent = await send(platform, sender, "46700000002", fallback=fallback)
        await platform.run_jobs()
        await platform.wait_for(sent["id"], "Delivered")
        await platform.simulator.smsc.send_mo("46700000002", "STOPP", "72345")

        async def replied() -> list[dict[str, Any]]:
            path = f"/v3/conversations/{sent['conversationId']}/messages"
            return [m for m in (await platform.api.get(path)).json() if m["direction"] == "Inbound"]

        [reply] = await platform.wait_until(replied)
        assert (reply["content"], reply["channel"]) == ("STOPP", "SMS")


class TestReceiptsBeforeAnswers:
    async def test_an_rcs_receipt_before_the_submit_answer(
        self, platform: Platform, sender: Sender
    ) -> None:
        platform.simulator.rbm.receipts_first = True
        message_id = (await send(platform, sender, "46700000001"))["id"]
        await platform.run_jobs()
        await platform.wait_for(message_id, "Read")
        assert [s for s, _ in await platform.journey(message_id)] == [
            "Queued",
            "Sent",
            "Delivered",
            "Read",
        ]

    async def test_an_sms_receipt_before_the_submit_answer(
        self, platform: Platform, sender: Sender
    ) -> None:
        platform.simulator.smsc.dlr_before_resp(True)
        message_id = (await send(platform, sender, "46700000002", fallback=FALLBACK))["id"]
        await platform.run_jobs()
        await platform.wait_for(message_id, "Delivered")
        assert [s for s, _ in await platform.journey(message_id)] == ["Queued", "Sent", "Delivered"]


class TestCapabilityLearning:
    async def test_a_refused_submit_teaches_the_cache(
        self, platform: Platform, sender: Sender
    ) -> None:
        first = (await send(platform, sender, "46700000002", fallback=FALLBACK))["id"]
        await platform.run_jobs()
        second = (await send(platform, sender, "46700000002", fallback=FALLBACK))["id"]
        await platform.run_jobs()
        assert first in platform.simulator.rbm.submits  # learnt from RBM's 404...
        assert second not in platform.simulator.rbm.submits  # ...so straight to SMS
        await platform.wait_for(second, "Delivered")
