"""The webhook sender loops of one process (`RCSGATE_WEBHOOK_WORKERS`) hold endpoint leases
each as itself: one loop cannot release an endpoint another is serving, which would let a
third claim it and send the endpoint's events out of order."""

from __future__ import annotations

import httpx

from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.webhooks.delivery import WebhookSender, sender_loop
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
from tests.fixtures.webhooks import set_account_url, webhook_client, webhook_sender
from tests.webhooks.test_delivery import endpoint_of, move, new_messages

__all__ = ["webhook_client", "webhook_sender"]
URL = "https://hooks.example.com/rcs"


class TestSenderLoops:
    async def test_a_loop_cannot_release_an_endpoint_another_loop_serves(
        self,
        context: AppContext,
        tenant: Tenant,
        api: httpx.AsyncClient,
        sender: Sender,
        clock: FakeClock,
        webhook_sender: WebhookSender,
    ) -> None:
        await set_account_url(context, tenant.account_id, URL)
        await move(context, await new_messages(api, sender, 1), "Sent", clock)
        a, b = sender_loop(webhook_sender), sender_loop(webhook_sender)
        assert a.name != b.name
        [endpoint] = await a.claim(1)
        await b._release(endpoint)
        assert (await endpoint_of(context, URL)).locked_by == a.name
        assert await b.claim(1) == []
