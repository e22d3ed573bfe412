"""Every job kind the dispatch side runs (runtime.Dispatch) has the effect of one run when its
handler runs twice on one claim, when the relay's settle fails after the handler committed (the
job then comes round again once its lease ran out), and when a stalled loop runs its claim after
another loop took it over: one operator submit, one SMS, one journey event, one webhook event,
one message per bundle recipient and one cursor chain. Two copies of a job for one message in
one batch send once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from rcsgate.connectors.base import InboundEvent, InboundKind, ReceiptStatus
from rcsgate.context import AppContext
from rcsgate.dispatch.bundles import BundleFanOut
from rcsgate.dispatch.jobs import DISPATCH_QUEUE, enqueue
from rcsgate.dispatch.relay import ClaimedJob, Outcome, Relay, Retry, worker_name
from rcsgate.kit.clock import FakeClock
from rcsgate.messages.state import Step, record
from rcsgate.models import Job, MessageRef
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender, jobs_of_kind, launched_sender
from tests.fixtures.platform import Platform, platform
from tests.fixtures.webhooks import deliveries, set_account_url

__all__ = ["platform"]

FALLBACK = {"sms": {"content": "Your code is 123456"}}
Run = Callable[[Relay], Awaitable[None]]


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


@pytest.fixture
async def hooked(platform: Platform, tenant: Tenant) -> Platform:
    """The platform with the account's webhook URL set, so every status change queues one
    `message.status` delivery (nothing sends them here: they are counted)."""
    await set_account_url(platform.context, tenant.account_id, "https://hooks.example.com/rcs")
    return platform


class SettleLost(Relay):
    """A relay whose settle fails after its handlers committed (the database went away)."""

    async def settle(self, results: Sequence[tuple[ClaimedJob, Outcome]]) -> None:
        raise ConnectionError("the connection to the database was lost")


async def run_twice(relay: Relay) -> None:
    """Every batch until none is due, each kind's handler run twice on one claim, then
    settled once."""
    while jobs := await relay.claim():
        results: list[tuple[ClaimedJob, Outcome]] = []
        for kind in sorted({job.kind for job in jobs}):
            batch = [job for job in jobs if job.kind == kind]
            handler = relay.handlers[kind]
            results += zip(batch, await handler(batch), strict=True)
            await handler(batch)
        await relay.settle(results)


def settle_lost(clock: FakeClock) -> Run:
    async def run(relay: Relay) -> None:
        """One batch whose settle fails; then the rest, once that batch's lease ran out."""
        lost = SettleLost(relay.sessionmaker, clock, relay.handlers, relay.queue, lease=relay.lease)
        with pytest.raises(ConnectionError):
            await lost.run_once()
        clock.advance(relay.lease.total_seconds())
        await relay.run_until_idle()

    return run


def overtaken(clock: FakeClock) -> Run:
    async def run(relay: Relay) -> None:
        """A loop claims a batch and stalls past its lease; another loop takes the jobs and
        runs everything; then the stalled loop runs its batch after all."""
        stalled = await relay.claim()
        clock.advance(relay.lease.total_seconds())
        await replace(relay, name=worker_name()).run_until_idle()
        results: list[tuple[ClaimedJob, Outcome]] = []
        for kind in sorted({job.kind for job in stalled}):
            batch = [job for job in stalled if job.kind == kind]
            results += zip(batch, await relay.handlers[kind](batch), strict=True)
        await relay.settle(results)

    return run


@pytest.fixture(params=["run twice", "settle lost", "overtaken"])
def run(request: pytest.FixtureRequest, clock: FakeClock) -> Run:
    if request.param == "overtaken":
        return overtaken(clock)
    return run_twice if request.param == "run twice" else settle_lost(clock)


async def send(p: Platform, sender: Sender, recipient: str, **content: Any) -> str:
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": recipient, **content}
    body.setdefault("content", "Hej!")
    response = await p.api.post("/v3/conversations", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def status_webhooks(context: AppContext, message_id: str) -> list[str]:
    found = await deliveries(context, order_key=message_id, type="message.status")
    return [delivery.data["status"] for delivery in found]


async def copy_job(context: AppContext, kind: str, message_id: str) -> None:
    async with context.sessionmaker.begin() as session:
        enqueue(session, context.clock, kind, {"messageId": message_id})


class TestMessageJobs:
    async def test_send_message_submits_once(
        self, hooked: Platform, sender: Sender, run: Run
    ) -> None:
        hooked.simulator.network.hold()  # receipts only once the Sent step is written
        message_id = await send(hooked, sender, "46700000001")
        await run(hooked.dispatch.relay)
        hooked.simulator.network.release()
        await hooked.wait_for(message_id, "Read")
        assert hooked.simulator.rbm.submits[message_id] == 1
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Delivered", "RCS"),
            ("Read", "RCS"),
        ]
        assert await status_webhooks(hooked.context, message_id) == ["Sent", "Delivered", "Read"]

    async def test_send_message_without_rcs_sends_one_sms(
        self, hooked: Platform, sender: Sender, run: Run
    ) -> None:
        hooked.simulator.network.hold()  # receipts only once the Sent step is written
        message_id = await send(hooked, sender, "46700000002", fallback=FALLBACK)
        await run(hooked.dispatch.relay)
        hooked.simulator.network.release()
        await hooked.wait_for(message_id, "Delivered")
        assert len(hooked.simulator.smsc.submitted) == 1
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]
        assert await status_webhooks(hooked.context, message_id) == ["Sent", "Delivered"]

    async def test_fallback_check_revokes_once_and_sends_one_sms(
        self, hooked: Platform, sender: Sender, clock: FakeClock, run: Run
    ) -> None:
        fallback = {**FALLBACK, "after": 60}
        message_id = await send(hooked, sender, "46700000003", fallback=fallback)
        await hooked.run_jobs()
        clock.advance(60)
        await run(hooked.dispatch.relay)  # fallback_check, then send_sms
        await hooked.wait_for(message_id, "Delivered")
        assert len(hooked.simulator.smsc.submitted) == 1
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Revoked", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]
        assert await status_webhooks(hooked.context, message_id) == [
            "Sent",
            "Revoked",
            "Sent",
            "Delivered",
        ]

    async def test_expiry_revokes_once_and_sends_one_sms(
        self, hooked: Platform, sender: Sender, clock: FakeClock, run: Run
    ) -> None:
        message_id = await send(hooked, sender, "46700000003", ttl=30, fallback=FALLBACK)
        await hooked.run_jobs()
        clock.advance(30)
        await run(hooked.dispatch.relay)  # expire_message, then send_sms
        await hooked.wait_for(message_id, "Delivered")
        assert len(hooked.simulator.smsc.submitted) == 1
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Expired", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]

    async def test_a_revoke_on_request_is_one_journey_event(
        self, hooked: Platform, sender: Sender, run: Run
    ) -> None:
        message_id = await send(hooked, sender, "46700000003")
        await hooked.run_jobs()
        assert (await hooked.api.delete(f"/v3/messages/{message_id}")).status_code == 202
        await run(hooked.dispatch.relay)
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "RCS"),
            ("Revoked", "RCS"),
        ]
        assert await status_webhooks(hooked.context, message_id) == ["Sent", "Revoked"]


class TestCopiesInOneBatch:
    """Two jobs for one message claimed together (as a forked bundle cursor made them) would
    both pass the status check: only the first acts."""

    async def test_two_send_message_jobs_send_one_sms(
        self, platform: Platform, sender: Sender
    ) -> None:
        message_id = await send(platform, sender, "46700000002", fallback=FALLBACK)
        await copy_job(platform.context, "send_message", message_id)
        assert await platform.dispatch.relay.run_once() == 2  # both copies in one batch
        await platform.wait_for(message_id, "Delivered")
        assert len(platform.simulator.smsc.submitted) == 1
        assert await platform.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]

    async def test_two_send_sms_jobs_send_one_sms(
        self, platform: Platform, sender: Sender, clock: FakeClock
    ) -> None:
        fallback = {**FALLBACK, "after": 60}
        message_id = await send(platform, sender, "46700000003", fallback=fallback)
        await platform.run_jobs()
        clock.advance(60)
        relay = platform.dispatch.relay
        [check] = await relay.claim()
        outcomes = await relay.handlers["fallback_check"]([check])
        await relay.settle(list(zip([check], outcomes, strict=True)))
        await copy_job(platform.context, "send_sms", message_id)
        assert await platform.dispatch.relay.run_once() == 2  # both copies in one batch
        await platform.wait_for(message_id, "Delivered")
        assert len(platform.simulator.smsc.submitted) == 1

    async def test_expiry_and_fallback_check_due_together_end_the_message_once(
        self, hooked: Platform, sender: Sender, clock: FakeClock
    ) -> None:
        """Both revoke (the operator confirms a revoke twice); only the ending that moved the
        status is written, with its one `send_sms`."""
        fallback = {**FALLBACK, "after": 60}
        message_id = await send(hooked, sender, "46700000003", ttl=60, fallback=fallback)
        await hooked.run_jobs()
        clock.advance(60)
        assert await hooked.dispatch.relay.run_once() == 2  # expire_message, fallback_check
        assert len(await jobs_of_kind(hooked.context, "send_sms")) == 1
        await hooked.wait_for(message_id, "Delivered")
        journey = await hooked.journey(message_id)
        assert journey[2] in {("Expired", "RCS"), ("Revoked", "RCS")}
        assert [journey[:2], journey[3:]] == [
            [("Queued", "RCS"), ("Sent", "RCS")],
            [("Sent", "SMS"), ("Delivered", "SMS")],
        ]
        assert len(await status_webhooks(hooked.context, message_id)) == 4
        assert len(hooked.simulator.smsc.submitted) == 1


class TestOtherJobs:
    async def test_a_bundle_queues_each_message_once_along_one_cursor_chain(
        self, platform: Platform, sender: Sender, clock: FakeClock, run: Run
    ) -> None:
        context = platform.context
        recipients = [f"467000001{i:02d}" for i in range(5)]
        body = {**sender_body(sender), "content": "Rea!", "recipients": recipients}
        assert (await platform.api.post("/v3/bundles", json=body)).status_code == 201
        cursors: list[tuple[str, str | None]] = []
        fan_out = BundleFanOut(context.sessionmaker, clock, chunk=2).fan_out

        async def send_bundle(jobs: Sequence[ClaimedJob]) -> Sequence[Outcome]:
            cursors.extend((job.id, job.payload.get("after")) for job in jobs)
            return await fan_out(jobs)

        async def park(jobs: Sequence[ClaimedJob]) -> list[Outcome]:
            """The sends are not this test's business: kept for a day, to be counted."""
            return [Retry(clock.now() + timedelta(days=1), "parked") for _ in jobs]

        handlers = {"send_bundle": send_bundle, "send_message": park}
        await run(Relay(context.sessionmaker, clock, handlers, DISPATCH_QUEUE))
        queued = Counter(
            job.payload["messageId"] for job in await jobs_of_kind(context, "send_message")
        )
        assert sorted(queued.values()) == [1] * 5
        chain = dict(cursors)  # each cursor job once, whichever runs it got
        assert len(chain) == len(set(chain.values())) == 3
        assert await jobs_of_kind(context, "send_bundle") == []

    async def test_an_agent_event_reaches_the_operator_once(
        self, platform: Platform, sender: Sender, run: Run
    ) -> None:
        message_id = await send(platform, sender, "46700000001")
        await platform.wait_for(message_id, "Read")
        conversation_id = (await platform.message(message_id))["conversationId"]
        path = f"/v3/conversations/{conversation_id}/events"
        assert (await platform.api.post(path, json={"type": "Typing"})).status_code == 202
        await run(platform.dispatch.relay)
        assert [e["eventType"] for e in platform.simulator.rbm.agent_events] == ["IS_TYPING"]

    async def test_a_launch_request_reaches_the_operator_once(
        self, platform: Platform, tenant: Tenant, run: Run
    ) -> None:
        sender = await launched_sender(platform.context, tenant.account_id, launch=False)
        path = f"/v3/brands/{sender.brand}/agents/{sender.agent}"
        assert (await platform.api.post(f"{path}/launch")).status_code == 202
        await run(platform.dispatch.relay)
        assert len(platform.simulator.rbm.launched) == 1
        assert (await platform.api.get(path)).json()["status"] == "Launched"

    async def test_a_receipt_matched_late_is_one_journey_event(
        self, hooked: Platform, sender: Sender, run: Run
    ) -> None:
        context = hooked.context
        message_id = await send(hooked, sender, "46700000002")
        async with context.sessionmaker.begin() as session:
            # As if its SMS went out and the SMSC's receipt beat the submit's answer.
            await session.execute(delete(Job))
            await record(session, Step(message_id, "Sent", "SMS", context.clock.now(), "smpp"))
        receipt = InboundEvent(
            "smpp",
            InboundKind.STATUS,
            "46700000002",
            context.clock.now(),
            ref="smsc-1",
            status=ReceiptStatus.DELIVERED,
        )
        await context.receipts.handle([receipt])
        assert [job.kind for job in await all_jobs(context)] == ["match_receipt"]
        async with context.sessionmaker.begin() as session:
            session.add(MessageRef(operator="smpp", ref="smsc-1", message_id=message_id))
        await run(hooked.dispatch.relay)
        assert await hooked.journey(message_id) == [
            ("Queued", "RCS"),
            ("Sent", "SMS"),
            ("Delivered", "SMS"),
        ]
        assert await status_webhooks(context, message_id) == ["Sent", "Delivered"]


def sender_body(sender: Sender) -> dict[str, str]:
    return {"brand": sender.brand, "agent": sender.agent}


async def all_jobs(context: AppContext) -> list[Job]:
    async with context.sessionmaker() as session:
        return list(await session.scalars(select(Job)))
