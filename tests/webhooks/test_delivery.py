"""Delivery to a real receiver on loopback that verifies every signature with the
standardwebhooks library; time moves by the fake clock, never by sleeping."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.messages.state import Step, record_many
from rcsgate.models import WebhookAttempt, WebhookEndpoint
from rcsgate.webhooks import guard, service
from rcsgate.webhooks.delivery import WebhookSender, waves
from tests.conftest import Tenant, TenantFactory
from tests.fixtures.messaging import Sender, launched_sender
from tests.fixtures.webhooks import (
    Received,
    Receiver,
    account_secret,
    deliveries,
    guarded_client,
    make_sender,
    receiver,
    set_account_url,
    webhook_client,
    webhook_sender,
)

__all__ = ["receiver", "webhook_client", "webhook_sender"]
STATUSES = ("Sent", "Delivered", "Read")


async def subscribed(context: AppContext, tenant: Tenant, target: Receiver) -> None:
    """The tenant's account URL is the receiver, which knows the account's secret."""
    await set_account_url(context, tenant.account_id, target.url)
    target.secrets = [await account_secret(context, tenant.account_id)]


async def new_messages(api: httpx.AsyncClient, sender: Sender, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "brand": sender.brand,
            "agent": sender.agent,
            "recipient": f"4670100{n:04d}",
            "content": "Hej",
        }
        response = await api.post("/v3/conversations", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def move(context: AppContext, ids: list[str], status: str, clock: FakeClock) -> None:
    async with context.sessionmaker.begin() as session:
        await record_many(session, [Step(m, status, "RCS", clock.now()) for m in ids])


def status_order(received: list[Received]) -> dict[str, list[int]]:
    """Each message's sequence numbers in the order they arrived."""
    found: dict[str, list[int]] = defaultdict(list)
    for item in received:
        if item.envelope["type"] == "message.status":
            found[item.envelope["data"]["messageId"]].append(item.envelope["data"]["sequence"])
    return dict(found)


async def endpoint_of(context: AppContext, url: str) -> WebhookEndpoint:
    async with context.sessionmaker() as session:
        found = await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == url))
        assert found is not None
        return found


class TestSigned:
    async def test_every_event_arrives_signed_in_one_envelope(
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
        [mid] = await new_messages(api, sender, 1)
        for status in STATUSES:
            await move(context, [mid], status, clock)

        assert await webhook_sender.run_until_idle() == 4
        assert receiver.unverified == 0
        assert receiver.types() == ["conversation.started", *["message.status"] * 3]
        for item in receiver.received:
            assert set(item.envelope) == {"id", "type", "created", "data"}
            assert item.envelope["id"] == item.webhook_id
            assert item.headers["webhook-signature"].startswith("v1,")
        assert [d.status for d in await deliveries(context)] == ["Delivered"] * 4

    async def test_a_wrong_secret_does_not_verify(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_sender: WebhookSender,
    ) -> None:
        await subscribed(context, tenant, receiver)
        receiver.secrets = ["whsec_" + "A" * 44]
        await new_messages(api, sender, 1)

        await webhook_sender.run_once()
        assert (receiver.unverified, receiver.received) == (1, [])


class TestRetries:
    async def test_a_receiver_down_for_hours_gets_every_event_in_order_after(
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
        ids = await new_messages(api, sender, 3)
        delays = []
        for status in STATUSES:  # events keep coming while it is down
            await move(context, ids, status, clock)
        for _ in range(16):  # about six hours of retries
            await webhook_sender.run_until_idle()
            endpoint = await endpoint_of(context, receiver.url)
            assert endpoint.retry_at is not None
            delays.append((endpoint.retry_at - clock.now()).total_seconds())
            clock.advance(delays[-1])
        failed_ids = list(receiver.seen_ids)

        receiver.mode = "ok"
        await webhook_sender.run_until_idle()

        assert delays[:11] == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
        assert set(delays[11:]) == {3600}
        assert len(receiver.received) == 3 + 9
        assert receiver.unverified == 0
        assert status_order(receiver.received) == {m: [1, 2, 3] for m in ids}
        # Retries carry the webhook-id of the first attempt: no id is new after the outage.
        assert set(failed_ids) <= {r.webhook_id for r in receiver.received}
        assert len(failed_ids) > len(set(failed_ids))
        assert {d.status for d in await deliveries(context)} == {"Delivered"}

    async def test_three_days_without_success_is_failed(
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
        await new_messages(api, sender, 2)
        for _ in range(100):  # 3 days of retries: hourly after the first 85 minutes
            await webhook_sender.run_until_idle()
            if [d.status for d in await deliveries(context)] == ["Failed", "Failed"]:
                break
            endpoint = await endpoint_of(context, receiver.url)
            assert endpoint.retry_at is not None
            clock.advance((endpoint.retry_at - clock.now()).total_seconds())

        found = await deliveries(context)
        assert [d.status for d in found] == ["Failed", "Failed"]
        assert all(clock.now() >= d.give_up_at for d in found)
        assert found[0].give_up_at == found[0].created_at + timedelta(days=3)
        # Failed at the first retry past the horizon, at most the 1 h cap later.
        assert clock.now() - found[0].give_up_at <= timedelta(hours=1)

    async def test_an_answer_after_the_timeout_is_a_failure(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_client: httpx.AsyncClient,
    ) -> None:
        await subscribed(context, tenant, receiver)
        receiver.mode = "hang"
        await new_messages(api, sender, 1)

        await make_sender(context, webhook_client, timeout=0.2).run_once()

        [delivery] = await deliveries(context)
        assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
            "Pending",
            None,
            "no answer within 0.2 s",
        )


class TestIsolation:
    async def test_a_hanging_endpoint_delays_no_other_endpoint_or_account(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        client_for: Any,
        sender: Sender,
        tenant: Tenant,
        make_tenant: TenantFactory,
        webhook_sender: WebhookSender,
        clock: FakeClock,
    ) -> None:
        hanging, healthy = await Receiver(mode="hang").start(), await Receiver().start()
        try:
            other = await make_tenant(name="Other")
            other_sender = await launched_sender(context, other.account_id)
            other_api = client_for(token=other.token)
            await subscribed(context, tenant, hanging)
            await subscribed(context, other, healthy)
            stop = asyncio.Event()
            loop = asyncio.create_task(webhook_sender.run_forever(stop))
            started = time.monotonic()

            await new_messages(api, sender, 2)
            await hanging.wait_for_requests(1)
            ids = await new_messages(other_api, other_sender, 2)
            await healthy.wait_for(2)
            await move(context, ids, "Sent", clock)
            await healthy.wait_for(4)
            elapsed = time.monotonic() - started

            stop.set()
            await loop
        finally:
            await hanging.aclose()
            await healthy.aclose()
        # All of it while the other endpoint's first request was still unanswered (10 s).
        assert elapsed < webhook_sender.timeout
        assert hanging.received == []
        assert healthy.types() == ["conversation.started"] * 2 + ["message.status"] * 2


class TestRotation:
    async def test_both_secrets_sign_during_the_overlap_then_only_the_new(
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
        old = receiver.secrets[0]
        async with context.sessionmaker.begin() as session:
            rotated = await service.rotate_secret(
                session, clock, tenant.account_id, timedelta(hours=1)
            )
        new = rotated.current
        receiver.secrets = [old, new]
        await new_messages(api, sender, 1)
        await webhook_sender.run_until_idle()
        clock.advance(3601)
        await new_messages(api, sender, 1)
        await webhook_sender.run_until_idle()

        received = await receiver.wait_for(3)
        during, after = received[0], received[-1]
        assert new != old
        assert rotated.previous == old
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert receiver.verifies(during.body, during.headers, [old])
        assert receiver.verifies(during.body, during.headers, [new])
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert not receiver.verifies(after.body, after.headers, [old])
        assert receiver.verifies(after.body, after.headers, [new])


class TestRefusedTargets:
    @pytest.mark.parametrize(
        "host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2"], ids=["v4", "name", "v6", "net"]
    )
    async def test_loopback_is_refused_unless_allowed(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_client: httpx.AsyncClient,
        host: str,
    ) -> None:
        assert receiver.server is not None
        url = f"http://{host}:{receiver.server.port}/rcs/events"
        await set_account_url(context, tenant.account_id, url)
        await new_messages(api, sender, 2)

        await make_sender(context, webhook_client, allow_private=False).run_until_idle()

        found = await deliveries(context)
        assert [d.status for d in found] == ["Failed", "Failed"]
        assert all("refused" in (d.last_error or "") for d in found)
        assert receiver.seen_ids == []  # never contacted
        async with context.sessionmaker() as session:
            attempts = (await session.scalars(select(WebhookAttempt))).all()
        assert len(attempts) == 2

    @pytest.mark.parametrize(
        "url",
        [
            "http://10.1.2.3/hook",
            "https://192.168.0.10/hook",
            "http://172.16.5.4/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/hook",
            "http://0.0.0.0/hook",
            "http://224.0.0.1/hook",
            "http://[ff02::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
        ],
    )
    def test_private_link_local_and_unspecified_literals_are_refused(self, url: str) -> None:
        with pytest.raises(guard.Refused):
            guard.check(url, allow_private=False)
        guard.check(url, allow_private=True)

    @pytest.mark.parametrize(
        "url",
        [
            "http://100.100.100.200/latest/meta-data",  # a cloud's metadata service
            "http://100.64.0.1/hook",  # carrier-grade NAT
            "http://[2002::1]/hook",  # 6to4
            "http://[2002:a9fe:a9fe::]/hook",  # 6to4 of 169.254.169.254
            "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64
            "http://[::a9fe:a9fe]/hook",  # IPv4-compatible
        ],
    )
    def test_carrier_grade_nat_and_ipv4_tunnels_are_refused(self, url: str) -> None:
        with pytest.raises(guard.Refused, match="not a public address"):
            guard.check(url, allow_private=False)

    def test_a_public_literal_passes(self) -> None:
        guard.check("https://93.184.216.34/x", allow_private=False)
        guard.check("https://[2606:2800:220:1::1]/x", allow_private=False)

    async def test_the_resolver_hands_over_only_the_addresses_it_checked(self) -> None:
        dns = FakeDNS(["93.184.216.34"], ["127.0.0.1"])
        resolver = guard.Resolver(lookup=dns)

        [first] = await resolver.resolve("hooks.example.com", 443)
        assert (first["hostname"], first["host"], first["port"]) == (
            "hooks.example.com",
            "93.184.216.34",
            443,
        )
        with pytest.raises(guard.Refused, match=r"127\.0\.0\.1"):
            await resolver.resolve("hooks.example.com", 443)

    @pytest.mark.parametrize(
        "answer",
        [["192.168.1.20"], ["100.100.100.200"], ["93.184.216.34", "10.0.0.1"], ["2002::1"]],
        ids=["private", "metadata", "mixed", "6to4"],
    )
    async def test_a_name_that_resolves_to_a_refused_address_is_never_contacted(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        answer: list[str],
    ) -> None:
        assert receiver.server is not None
        url = f"http://hooks.example.com:{receiver.server.port}/rcs/events"
        await set_account_url(context, tenant.account_id, url)
        await new_messages(api, sender, 2)
        dns = FakeDNS(answer)

        async with guarded_client(dns) as client:
            await make_sender(context, client, allow_private=False).run_until_idle()

        found = await deliveries(context)
        assert [d.status for d in found] == ["Failed", "Failed"]
        assert all("refused hooks.example.com" in (d.last_error or "") for d in found)
        assert dns.asked
        assert receiver.seen_ids == []

    async def test_a_name_that_does_not_resolve_is_tried_again_later(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
    ) -> None:
        await set_account_url(context, tenant.account_id, "https://nowhere.example/x")
        await new_messages(api, sender, 1)

        async def unknown(host: str, port: int) -> list[str]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        async with guarded_client(unknown) as client:
            await make_sender(context, client, allow_private=False).run_until_idle()

        [found] = await deliveries(context)
        assert found.status == "Pending"
        assert "cannot resolve nowhere.example" in (found.last_error or "")

    async def test_dns_rebinding_cannot_reach_the_second_address(
        self, context: AppContext, api: httpx.AsyncClient, sender: Sender, tenant: Tenant
    ) -> None:
        """The name answers a permitted address when it is checked and an internal one
        after; the connection goes where the check looked. 127.0.0.2 stands in for a public
        address (a test must not connect out), 127.0.0.1 for the internal network."""
        public = await Receiver(host="127.0.0.2").start()
        assert public.server is not None
        internal = await Receiver(host="127.0.0.1", port=public.server.port).start()
        try:
            await subscribed(context, tenant, public)
            url = f"http://hooks.example.com:{public.server.port}/rcs/events"
            await set_account_url(context, tenant.account_id, url)
            await new_messages(api, sender, 2)
            dns = FakeDNS(["127.0.0.2"], ["127.0.0.1"])
            stand_in = ipaddress.ip_address("127.0.0.2")

            async with guarded_client(dns, permits=lambda a: a == stand_in) as client:
                await make_sender(context, client, allow_private=False).run_until_idle()
        finally:
            await public.aclose()
            await internal.aclose()

        found = await deliveries(context)
        assert {d.status for d in found} == {"Delivered"}
        assert len(public.received) == len(found) == 2
        assert internal.seen_ids == []


class FakeDNS:
    """Answers each lookup with the next of `answers` (the last one again and again)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class TestAnswers:
    async def test_a_large_answer_is_not_read_and_the_status_counts(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        webhook_sender: WebhookSender,
    ) -> None:
        size = 64 * 2**20
        large = await Receiver(mode="large", answer_size=size).start()
        try:
            await subscribed(context, tenant, large)
            await new_messages(api, sender, 1)
            await webhook_sender.run_until_idle()
        finally:
            await large.aclose()

        assert [d.status for d in await deliveries(context)] == ["Delivered"]
        assert large.answered < size // 8  # the sender hung up long before the end

    async def test_a_2xx_whose_body_never_ends_is_a_success(
        self,
        context: AppContext,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        receiver: Receiver,
        webhook_client: httpx.AsyncClient,
    ) -> None:
        await subscribed(context, tenant, receiver)
        receiver.mode = "trickle"
        await new_messages(api, sender, 1)

        await make_sender(context, webhook_client, timeout=0.2).run_once()

        [delivery] = await deliveries(context)
        assert (delivery.status, delivery.last_status_code) == ("Delivered", 200)


class TestOrder:
    async def test_many_messages_in_parallel_each_in_order(
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
        ids = await new_messages(api, sender, 12)
        for status in STATUSES:
            await move(context, ids, status, clock)

        await webhook_sender.run_until_idle()

        assert status_order(receiver.received) == {m: [1, 2, 3] for m in ids}

    def test_waves_keep_each_key_in_sequence(self) -> None:
        from rcsgate.webhooks.delivery import Due

        now = FakeClock().now()
        batch = [
            Due("b", "message.status", "m1", 2, {}, now),
            Due("a", "message.status", "m1", 1, {}, now),
            Due("c", "message.status", "m2", 1, {}, now),
            Due("d", "conversation.started", "c1", None, {}, now),
        ]
        assert [[d.id for d in wave] for wave in waves(batch)] == [["a", "c", "d"], ["b"]]
