"""Every documented test number's whole journey: API → job → connector → simulator over real
HTTP (and SMPP) → receipts back through /operators/{name}/callback → the message's status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
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
