"""Virtual phones: who can get RCS, who answers, how fast. Shared by every simulated operator,
so a number behaves the same whichever connector reaches it.

The documented test numbers (DESIGN.md section 4) are deterministic; any other valid number
has RCS with 90% probability, by a hash of the number, so a run can be repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class PhoneEventKind(StrEnum):
    DELIVERED = "DELIVERED"
    READ = "READ"
    TYPING = "IS_TYPING"
    TEXT = "TEXT"
    SUGGESTION = "SUGGESTION"


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    kind: PhoneEventKind
    msisdn: str
    ref: str | None = None  # the delivered or read message, as the operator knows it
    text: str | None = None
    postback_data: str | None = None


@dataclass(frozen=True, slots=True)
class Behaviour:
    rcs: bool = True  # capability lookups say RCS
    rcs_online: bool = True  # RCS messages are ever delivered
    rejects: bool = False  # the operator refuses every message
    answers: bool = False  # taps the first suggestion, else replies "Hello"
    reads: bool = True
    delivery_delay: float = 0.2  # seconds, before the delay scale
    read_delay: float = 0.5


TEST_NUMBERS: dict[str, Behaviour] = {
    "46700000001": Behaviour(),
    "46700000002": Behaviour(rcs=False),
    "46700000003": Behaviour(rcs_online=False),
    "46700000004": Behaviour(rejects=True),
    "46700000005": Behaviour(answers=True),
    "46700000006": Behaviour(delivery_delay=30.0),
}


def behaviour_of(msisdn: str) -> Behaviour:
    """The behaviour of a number given with or without its `+`."""
    digits = msisdn.removeprefix("+")
    known = TEST_NUMBERS.get(digits)
    if known is not None:
        return known
    bucket = hashlib.sha256(digits.encode()).digest()[0] * 100 // 256
    return Behaviour(rcs=bucket < 90)


Emit = Callable[[PhoneEvent], Awaitable[None]]


@dataclass
class _Delivery:
    delivered: bool = False
    revoked: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class PhoneNetwork:
    """Delivers what an operator accepted and plays the user's side.

    `delay_scale` multiplies every delay: 1.0 for a local run, small in tests so the 30 s
    phone is delivered in a fraction of a second. Deliveries run as tasks; `aclose` ends them.
    """

    delay_scale: float = 1.0
    _deliveries: dict[str, _Delivery] = field(default_factory=dict)
    _reachable: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._reachable.set()

    def hold(self) -> None:
        """Phones out of coverage: what operators accept waits for `release` (a test that
        needs the operator's answer recorded before any receipt arrives)."""
        self._reachable.clear()

    def release(self) -> None:
        self._reachable.set()

    def deliver(
        self,
        msisdn: str,
        ref: str,
        emit: Emit,
        *,
        rcs: bool = True,
        postbacks: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Start delivering message `ref`; `postbacks` are its suggestions as (text, data)."""
        delivery = _Delivery()
        self._deliveries[ref] = delivery
        delivery.task = asyncio.create_task(
            self._play(msisdn, ref, emit, rcs, tuple(postbacks), delivery)
        )
        # A long run forgets played messages; one never delivered is kept for its revoke.
        delivery.task.add_done_callback(lambda _: self._forget(ref, delivery))

    def revoke(self, ref: str) -> bool:
        """True when the message was still undelivered and is now withdrawn."""
        delivery = self._deliveries.get(ref)
        if delivery is None or delivery.delivered:
            return False
        delivery.revoked = True
        if delivery.task is not None:
            delivery.task.cancel()
        return True

    def _forget(self, ref: str, delivery: _Delivery) -> None:
        if delivery.delivered and self._deliveries.get(ref) is delivery:
            del self._deliveries[ref]

    async def played(self, ref: str) -> None:
        """Wait until the phone has done all it will do with message `ref` (tests)."""
        delivery = self._deliveries.get(ref)
        if delivery is not None and delivery.task is not None:
            await asyncio.gather(delivery.task, return_exceptions=True)

    def is_delivered(self, ref: str) -> bool:
        delivery = self._deliveries.get(ref)
        return delivery is not None and delivery.delivered

    async def aclose(self) -> None:
        tasks = [d.task for d in self._deliveries.values() if d.task and not d.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _play(
        self,
        msisdn: str,
        ref: str,
        emit: Emit,
        rcs: bool,
        postbacks: tuple[tuple[str, str], ...],
        delivery: _Delivery,
    ) -> None:
        phone = behaviour_of(msisdn)
        if rcs and not phone.rcs_online:
            return  # never delivered: the TTL, revoke and fallback paths take over
        await self._reachable.wait()
        await self._wait(phone.delivery_delay)
        delivery.delivered = True
        await emit(PhoneEvent(PhoneEventKind.DELIVERED, msisdn, ref=ref))
        if not rcs:
            return  # SMS has delivery receipts only
        if phone.reads:
            await self._wait(phone.read_delay)
            await emit(PhoneEvent(PhoneEventKind.READ, msisdn, ref=ref))
        if phone.answers:
            await self._answer(msisdn, emit, postbacks)

    async def _answer(
        self, msisdn: str, emit: Emit, postbacks: tuple[tuple[str, str], ...]
    ) -> None:
        await emit(PhoneEvent(PhoneEventKind.TYPING, msisdn))
        await self._wait(0.2)
        if postbacks:
            text, data = postbacks[0]
            await emit(PhoneEvent(PhoneEventKind.SUGGESTION, msisdn, text=text, postback_data=data))
        else:
            await emit(PhoneEvent(PhoneEventKind.TEXT, msisdn, text="Hello"))

    async def _wait(self, seconds: float) -> None:
        delay = seconds * self.delay_scale
        if delay > 0:
            await asyncio.sleep(delay)
