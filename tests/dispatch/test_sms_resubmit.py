"""SMPP has no idempotency key: an SMS whose submit may have reached the SMSC (the worker died
before it recorded the answer) is not submitted again until RCSGATE_SMS_RESUBMIT_AFTER has
passed since that attempt. Real SMPP to the simulated SMSC; time from the fake clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from rcsgate.kit.clock import FakeClock
from rcsgate.models import Message
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender
from tests.fixtures.platform import Platform, platform

__all__ = ["platform"]

SMS_ONLY = "46700000002"
FALLBACK = {"sms": {"content": "Din kod: 123456"}}


@pytest.fixture
def token(tenant: Tenant) -> str:
    return tenant.token


async def send(platform: Platform, sender: Sender) -> str:
    body = {"brand": sender.brand, "agent": sender.agent, "recipient": SMS_ONLY}
    response = await platform.api.post(
        "/v3/conversations", json={**body, "content": "Hej", "fallback": FALLBACK}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def until(condition: Callable[[], bool]) -> None:
    """Wait for something the simulator does on its own (no fake-clock event marks it)."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), 10)


async def attempted_at(platform: Platform, message_id: str) -> datetime | None:
    async with platform.context.sessionmaker() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message.sms_submit_attempted_at


async def crash_after_the_pdu_left(platform: Platform) -> None:
    """Run the send job until its submit_sm is at the SMSC, then kill the worker: the SMSC
    answers, but nobody is there to record the answer."""
    smsc = platform.simulator.smsc
    smsc.hold_responses(True)
    worker = asyncio.create_task(platform.run_jobs())
    await until(lambda: smsc.outstanding == 1)
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    smsc.hold_responses(False)
    await until(lambda: len(smsc.submitted) == 1)


class TestResubmitAfterACrash:
    async def test_the_rerun_waits_before_a_second_submit_sm(
        self, platform: Platform, sender: Sender, clock: FakeClock
    ) -> None:
        settings = platform.context.settings
        wait, lease = settings.sms_resubmit_after, settings.dispatch_lease_seconds
        message_id = await send(platform, sender)
        started = clock.now()

        await crash_after_the_pdu_left(platform)
        clock.advance(lease)  # the dead worker's lease ends: the job is rerun
        await platform.run_jobs()
        clock.advance(wait - lease - 1)
        await platform.run_jobs()
        before_the_wait = len(platform.simulator.smsc.submitted)
        clock.advance(1)
        await platform.run_jobs()
        message = await platform.wait_for(message_id, "Delivered")

        assert before_the_wait == 1  # only the crashed worker's submit_sm
        assert await attempted_at(platform, message_id) == started + timedelta(seconds=wait)
        assert len(platform.simulator.smsc.submitted) == 2
        assert message["channel"] == "SMS"

    async def test_the_attempt_is_committed_before_the_submit_sm_leaves(
        self, platform: Platform, sender: Sender, clock: FakeClock
    ) -> None:
        message_id = await send(platform, sender)
        smsc = platform.simulator.smsc
        smsc.hold_responses(True)
        worker = asyncio.create_task(platform.run_jobs())
        await until(lambda: smsc.outstanding == 1)

        recorded = await attempted_at(platform, message_id)
        smsc.hold_responses(False)
        await worker

        assert recorded == clock.now()
        await platform.wait_for(message_id, "Delivered")

    async def test_a_submit_the_smsc_refused_is_retried_without_the_wait(
        self, platform: Platform, sender: Sender, clock: FakeClock
    ) -> None:
        platform.simulator.smsc.throttle(1)  # ESME_RTHROTTLED: the SMSC did not take it
        message_id = await send(platform, sender)
        await platform.run_jobs()
        assert platform.simulator.smsc.submitted == []

        clock.advance(1)  # the throttling backoff, far less than RCSGATE_SMS_RESUBMIT_AFTER
        await platform.run_jobs()
        assert len(platform.simulator.smsc.submitted) == 1
        await platform.wait_for(message_id, "Delivered")
