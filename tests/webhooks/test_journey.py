"""The whole way: a message through the simulator's RBM over HTTP, its receipts back through
/operators/rbm/callback, and its status events signed to the customer's receiver."""

from __future__ import annotations

import pytest

from rcsgate.webhooks.delivery import WebhookSender
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
from tests.fixtures.platform import Platform, platform
from tests.fixtures.webhooks import Receiver, receiver, webhook_client, webhook_sender
from tests.webhooks.test_delivery import status_order, subscribed

__all__ = ["platform", "receiver", "webhook_client", "webhook_sender"]


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


async def test_a_read_message_reports_each_status_in_order(
    platform: Platform,
    sender: Sender,
    tenant: Tenant,
    receiver: Receiver,
    webhook_sender: WebhookSender,
) -> None:
    await subscribed(platform.context, tenant, receiver)
    body = {
        "brand": sender.brand,
        "agent": sender.agent,
        "recipient": "46700000001",
        "content": "Hej!",
    }
    platform.simulator.network.hold()  # receipts only once the Sent step is written
    response = await platform.api.post("/v3/conversations", json=body)
    assert response.status_code == 201, response.text
    message_id = response.json()["id"]
    await platform.run_jobs()
    platform.simulator.network.release()
    await platform.wait_for(message_id, "Read")

    await webhook_sender.run_until_idle()

    assert receiver.unverified == 0
    statuses = [
        r.envelope["data"]["status"]
        for r in receiver.received
        if r.envelope["type"] == "message.status"
    ]
    assert statuses == ["Sent", "Delivered", "Read"]
    assert status_order(receiver.received) == {message_id: [1, 2, 3]}
