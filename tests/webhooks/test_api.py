"""GET /v3/webhook-deliveries, one delivery with its attempts, redeliver and replay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock, isoformat_z
from rcsgate.webhooks.delivery import WebhookSender
from tests.conftest import ClientFactory, Tenant, TenantFactory
from tests.fixtures.messaging import Sender
from tests.fixtures.webhooks import Receiver, receiver, webhook_client, webhook_sender
from tests.test_gate import assert_problem
from tests.webhooks.test_delivery import STATUSES, move, new_messages, subscribed

__all__ = ["receiver", "webhook_client", "webhook_sender"]
LIST = "/v3/webhook-deliveries"


async def listed(api: httpx.AsyncClient, **query: Any) -> list[dict[str, Any]]:
    response = await api.get(LIST, params=query)
    assert response.status_code == 200, response.text
    return list(response.json())


class TestList:
    async def test_filters_by_status_type_and_message(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_sender: WebhookSender,
        clock: FakeClock,
    ) -> None:
        await subscribed(context, tenant, receiver)
        first, second = await new_messages(api, sender, 2)
        await move(context, [first, second], "Sent", clock)
        await webhook_sender.run_until_idle()
        await move(context, [first], "Delivered", clock)  # still pending

        everything = await api.get(LIST, params={"limit": 2})
        assert everything.headers["x-total-count"] == "5"
        assert 'rel="next"' in everything.headers["link"]
        assert [d["status"] for d in await listed(api, status="Pending")] == ["Pending"]
        assert len(await listed(api, type="conversation.started")) == 2
        mine = await listed(api, messageId=first)
        assert [(d["type"], d["event"]["data"]["status"]) for d in mine] == [
            ("message.status", "Sent"),
            ("message.status", "Delivered"),
        ]
        assert mine[0]["url"] == receiver.url
        assert mine[0]["attemptCount"] == 1
        assert mine[0]["lastResponseCode"] == 204

    async def test_bad_filters_name_the_parameter(self, api: httpx.AsyncClient) -> None:
        for query, field in (({"status": "Lost"}, "status"), ({"type": "message"}, "type")):
            response = await api.get(LIST, params=query)
            assert_problem(response, 400, "validation")
            assert response.json()["errors"][0]["field"] == field


class TestOne:
    async def test_a_delivery_with_its_attempts(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_sender: WebhookSender,
        clock: FakeClock,
    ) -> None:
        await subscribed(context, tenant, receiver)
        receiver.mode = "down"
        await new_messages(api, sender, 1)
        await webhook_sender.run_until_idle()
        clock.advance(5)
        receiver.mode = "ok"
        await webhook_sender.run_until_idle()
        [delivery] = await listed(api)

        response = await api.get(f"{LIST}/{delivery['id']}")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "Delivered"
        assert body["event"]["id"] == body["id"] == receiver.received[0].webhook_id
        assert [(a["responseCode"], a["at"]) for a in body["attempts"]] == [
            (503, isoformat_z(clock.now() - timedelta(seconds=5))),
            (204, isoformat_z(clock.now())),
        ]
        assert all(a["durationMs"] > 0 for a in body["attempts"])

    async def test_unknown_ids_are_404(self, api: httpx.AsyncClient) -> None:
        assert_problem(await api.get(f"{LIST}/nope"), 404, "not-found")
        assert_problem(await api.post(f"{LIST}/nope/redeliver"), 404, "not-found")


class TestIsolation:
    async def test_another_account_sees_nothing_of_them(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        make_tenant: TenantFactory,
        client_for: ClientFactory,
    ) -> None:
        await subscribed(context, tenant, receiver)
        await new_messages(api, sender, 1)
        [delivery] = await listed(api)
        other = client_for(token=(await make_tenant(name="Other")).token)

        assert await listed(other) == []
        assert_problem(await other.get(f"{LIST}/{delivery['id']}"), 404, "not-found")
        assert_problem(await other.post(f"{LIST}/{delivery['id']}/redeliver"), 404, "not-found")
        replay = await other.post(f"{LIST}/redeliver", json={"since": "2000-01-01T00:00:00Z"})
        assert replay.json() == {"redelivered": 0}


class TestRedeliver:
    async def test_one_delivery_again_with_the_same_id(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_sender: WebhookSender,
    ) -> None:
        await subscribed(context, tenant, receiver)
        await new_messages(api, sender, 1)
        await webhook_sender.run_until_idle()
        [delivery] = await listed(api)

        response = await api.post(f"{LIST}/{delivery['id']}/redeliver")
        assert response.status_code == 202
        assert response.json()["status"] == "Pending"
        await webhook_sender.run_until_idle()

        first, again = receiver.received
        assert first.webhook_id == again.webhook_id == delivery["id"]
        assert first.body == again.body
        assert (await api.get(f"{LIST}/{delivery['id']}")).json()["attemptCount"] == 2

    async def test_replay_since_a_time_after_an_outage_gave_up(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_sender: WebhookSender,
        clock: FakeClock,
    ) -> None:
        await subscribed(context, tenant, receiver)
        early = await new_messages(api, sender, 1)
        await webhook_sender.run_until_idle()  # delivered
        since = clock.advance(60)
        receiver.mode = "down"
        ids = await new_messages(api, sender, 2)
        for status in STATUSES:
            await move(context, ids, status, clock)
        clock.advance(timedelta(days=4).total_seconds())
        await webhook_sender.run_until_idle()
        assert {d["status"] for d in await listed(api, status="Failed")} == {"Failed"}
        receiver.mode = "ok"

        response = await api.post(
            f"{LIST}/redeliver", json={"since": isoformat_z(since), "status": "Failed"}
        )

        assert response.status_code == 202
        # the first conversation closed by the next one, 2 started, 3 statuses of 2 messages
        assert response.json() == {"redelivered": 9}
        await webhook_sender.run_until_idle()
        assert len(receiver.received) == 1 + 9
        # Only what `since` covers: nothing of the message sent before it.
        assert all(r.envelope["data"].get("messageId") != early[0] for r in receiver.received[1:])
        sequences = [
            (r.envelope["data"]["messageId"], r.envelope["data"]["sequence"])
            for r in receiver.received
            if r.envelope["type"] == "message.status"
        ]
        assert [s for m, s in sequences if m == ids[0]] == [1, 2, 3]
        assert [s for m, s in sequences if m == ids[1]] == [1, 2, 3]

    async def test_replay_needs_a_time_with_a_zone(self, api: httpx.AsyncClient) -> None:
        missing = await api.post(f"{LIST}/redeliver", json={})
        assert_problem(missing, 400, "validation")
        assert missing.json()["errors"][0]["field"] == "/since"
        naive = await api.post(f"{LIST}/redeliver", json={"since": "2026-03-09T08:00:00"})
        assert_problem(naive, 400, "validation")
        assert naive.json()["errors"][0]["field"] == "/since"
        bad_status = await api.post(
            f"{LIST}/redeliver", json={"since": "2026-03-09T08:00:00Z", "status": "Gone"}
        )
        assert bad_status.json()["errors"][0]["field"] == "/status"
