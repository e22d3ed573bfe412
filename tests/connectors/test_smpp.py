"""SmppConnector against the simulated SMSC: real SMPP sessions over loopback TCP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from rcsgate.connectors.base import (
    ConnectorError,
    ErrorClass,
    InboundEvent,
    InboundKind,
    ReceiptStatus,
)
from rcsgate.connectors.smpp import SmppConnector
from rcsgate.connectors.smpp.codec import decode, encode
from rcsgate.connectors.smpp.inbound import Inbound
from rcsgate.connectors.smpp.receipts import parse_receipt
from rcsgate.kit.clock import FakeClock
from rcsgate.simulator.phones import PhoneNetwork
from rcsgate.simulator.smsc import Smsc

SMS_ONLY = "46700000002"
REJECTING = "46700000004"
WAIT = 3.0  # seconds: the longest any event may take on loopback

Connect = Callable[..., Awaitable[SmppConnector]]


class Inbox:
    """The connector's sink: every event, in order."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[InboundEvent] = asyncio.Queue()

    async def __call__(self, event: InboundEvent) -> None:
        await self.events.put(event)

    async def next(self) -> InboundEvent:
        return await asyncio.wait_for(self.events.get(), WAIT)

    async def receipts(self, count: int) -> list[InboundEvent]:
        events = [await self.next() for _ in range(count)]
        assert all(event.kind is InboundKind.STATUS for event in events)
        return events


@pytest.fixture
async def network() -> AsyncIterator[PhoneNetwork]:
    network = PhoneNetwork(delay_scale=0.0)
    yield network
    await network.aclose()


@pytest.fixture
async def smsc(network: PhoneNetwork) -> AsyncIterator[Smsc]:
    smsc = Smsc(network)
    await smsc.start()
    yield smsc
    await smsc.aclose()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def connect(smsc: Smsc, inbox: Inbox) -> AsyncIterator[Connect]:
    started: list[SmppConnector] = []

    async def connect(**options: Any) -> SmppConnector:
        settings: dict[str, Any] = {
            "response_timeout": 2.0,
            "reconnect_backoff": (0.01, 0.05),
            "sink": inbox,
            "password": "secret",
        }
        settings |= options
        connector = SmppConnector(
            "smsc-test", "127.0.0.1", smsc.port, "rcsgate", clock=FakeClock(), **settings
        )
        await connector.start()
        started.append(connector)
        return connector

    yield connect
    for connector in started:
        await connector.aclose()


class TestSendSms:
    async def test_gsm_text_is_submitted_and_its_receipt_reaches_the_sink(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()

        submitted = await connector.send_sms("Acme", SMS_ONLY, "Your code is 1234 @ £5", "m1")

        assert submitted.segments == 1
        [sms] = smsc.submitted
        assert (sms.msisdn, sms.sender, sms.text) == (SMS_ONLY, "Acme", "Your code is 1234 @ £5")
        assert (sms.data_coding, sms.esm_class, sms.parts) == (0, 0, 1)
        assert (sms.sender_ton, sms.registered_delivery) == (5, 1)
        assert sms.message_ids == submitted.refs
        receipt = await inbox.next()
        assert receipt.kind is InboundKind.STATUS
        assert receipt.status is ReceiptStatus.DELIVERED
        assert (receipt.ref, receipt.msisdn, receipt.operator) == (
            submitted.refs[0],
            SMS_ONLY,
            "smsc-test",
        )

    async def test_text_outside_gsm_goes_as_ucs2(self, connect: Connect, smsc: Smsc) -> None:
        connector = await connect()

        await connector.send_sms("Acme", SMS_ONLY, "Hej på dig 😀", "m1")

        [sms] = smsc.submitted
        assert (sms.text, sms.data_coding, sms.parts) == ("Hej på dig 😀", 8, 1)

    async def test_400_gsm_characters_go_as_three_concatenated_parts(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()
        # "€" is an escape sequence of two septets; here it falls on the first part boundary.
        text = "a" * 152 + "€" + "b" * 247

        submitted = await connector.send_sms("Acme", SMS_ONLY, text, "m1")

        assert submitted.segments == 3
        assert len(set(submitted.refs)) == 3
        [sms] = smsc.submitted
        assert (sms.text, sms.parts, sms.data_coding, sms.esm_class) == (text, 3, 0, 0x40)
        receipts = await inbox.receipts(3)
        assert {event.ref for event in receipts} == set(submitted.refs)

    async def test_long_ucs2_text_is_split_between_characters(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect()
        text = "Grattis på födelsedagen 🎉! " * 8

        submitted = await connector.send_sms("Acme", SMS_ONLY, text, "m1")

        [sms] = smsc.submitted
        assert (sms.text, sms.data_coding, sms.esm_class) == (text, 8, 0x40)
        assert sms.parts == submitted.segments == 4

    @pytest.mark.parametrize(
        ("sender", "ton", "address"),
        [("+46700000009", 1, "46700000009"), ("72345", 3, "72345"), ("Acme", 5, "Acme")],
    )
    async def test_the_sender_address_type_follows_its_form(
        self, connect: Connect, smsc: Smsc, sender: str, ton: int, address: str
    ) -> None:
        connector = await connect()

        await connector.send_sms(sender, "+" + SMS_ONLY, "Hi", "m1")

        [sms] = smsc.submitted
        assert (sms.sender, sms.sender_ton, sms.msisdn) == (address, ton, SMS_ONLY)

    async def test_an_alphanumeric_sender_over_11_characters_is_rejected(
        self, connect: Connect
    ) -> None:
        connector = await connect()

        with pytest.raises(ConnectorError) as raised:
            await connector.send_sms("AcmeCorporation", SMS_ONLY, "Hi", "m1")

        assert raised.value.error_class is ErrorClass.REJECTED


class TestSubmitErrors:
    async def test_a_number_the_operator_refuses_is_rejected(self, connect: Connect) -> None:
        connector = await connect()

        with pytest.raises(ConnectorError) as raised:
            await connector.send_sms("Acme", REJECTING, "Hi", "m1")

        assert raised.value.error_class is ErrorClass.REJECTED
        assert raised.value.status == 0x45
        assert "ESME_RSUBMITFAIL (0x45)" in raised.value.reason
        assert raised.value.unsent  # answered: the SMSC did not take it

    async def test_throttling_is_throttled_and_the_next_send_goes(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect()
        smsc.throttle(1)

        with pytest.raises(ConnectorError) as raised:
            await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")
        await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")

        assert raised.value.error_class is ErrorClass.THROTTLED
        assert raised.value.unsent
        assert len(smsc.submitted) == 1

    async def test_no_response_is_a_timeout_after_response_timeout(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect(response_timeout=0.3)
        await connector.send_sms("Acme", SMS_ONLY, "bound", "m0")
        smsc.hold_responses(True)

        started = time.monotonic()
        with pytest.raises(ConnectorError) as raised:
            await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")
        elapsed = time.monotonic() - started
        smsc.hold_responses(False)

        assert raised.value.error_class is ErrorClass.TIMEOUT
        assert not raised.value.unsent  # the SMSC may have it
        assert 0.3 <= elapsed < 0.6


class TestBind:
    async def test_a_dropped_bind_is_rebound_and_nothing_is_lost(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()
        first = await connector.send_sms("Acme", SMS_ONLY, "before", "m1")
        smsc.hold_responses(True)
        in_flight = asyncio.create_task(connector.send_sms("Acme", SMS_ONLY, "during", "m2"))
        await _until(lambda: smsc.outstanding == 1)

        smsc.drop_binds()
        with pytest.raises(ConnectorError) as raised:
            await asyncio.wait_for(in_flight, 1.0)  # at once, not after response_timeout
        smsc.hold_responses(False)
        after = await connector.send_sms("Acme", SMS_ONLY, "after", "m3")

        assert raised.value.error_class is ErrorClass.TRANSIENT
        assert not raised.value.unsent  # in flight: and indeed the SMSC took it
        assert smsc.binds == 2
        assert [sms.text for sms in smsc.submitted] == ["before", "during", "after"]
        # The SMSC took "during" although its answer was lost with the connection: its
        # receipt comes on the new bind, as does any receipt whose ack the drop lost.
        accepted = {sms.message_ids[0] for sms in smsc.submitted}
        assert {first.refs[0], after.refs[0]} < accepted
        receipts: set[str | None] = set()
        while receipts != accepted:
            receipts.add((await inbox.next()).ref)

    async def test_sends_waiting_during_a_reconnect_go_out_once_rebound(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect(reconnect_backoff=(0.2, 0.2))
        await connector.send_sms("Acme", SMS_ONLY, "first", "m1")

        smsc.drop_binds()
        await _until(lambda: not connector.bound)
        await asyncio.gather(
            *(connector.send_sms("Acme", SMS_ONLY, f"queued {n}", f"q{n}") for n in range(5))
        )

        assert smsc.binds == 2
        assert len(smsc.submitted) == 6

    async def test_a_wrong_password_keeps_retrying_and_sends_fail_transient(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect(password="wrong", response_timeout=0.3)

        with pytest.raises(ConnectorError) as raised:
            await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")

        assert raised.value.error_class is ErrorClass.TRANSIENT
        assert "ESME_RINVPASWD" in raised.value.reason
        assert raised.value.unsent  # never bound, so never written
        assert smsc.refused_binds >= 3
        assert smsc.binds == 0

    async def test_an_unknown_system_id_is_refused(self, smsc: Smsc, inbox: Inbox) -> None:
        connector = SmppConnector(
            "op", "127.0.0.1", smsc.port, "nobody", "secret", inbox, response_timeout=0.2
        )
        await connector.start()
        try:
            with pytest.raises(ConnectorError) as raised:
                await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")
        finally:
            await connector.aclose()

        assert raised.value.error_class is ErrorClass.TRANSIENT
        assert "ESME_RINVSYSID" in raised.value.reason

    async def test_enquire_link_is_sent_and_answered(self, connect: Connect, smsc: Smsc) -> None:
        connector = await connect(enquire_link_interval=0.05)
        await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")

        await _until(lambda: smsc.enquire_links >= 2)

        assert await smsc.enquire_link()

    async def test_aclose_unbinds(self, connect: Connect, smsc: Smsc) -> None:
        connector = await connect()
        await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")

        await connector.aclose()

        assert smsc.unbinds == 1
        assert not connector.bound

    async def test_aclose_fails_sends_in_flight_and_queued(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        connector = await connect(window=1)
        await connector.send_sms("Acme", SMS_ONLY, "Hi", "m0")
        smsc.hold_responses(True)
        sends = [
            asyncio.create_task(connector.send_sms("Acme", SMS_ONLY, "Hi", f"m{n}")) for n in (1, 2)
        ]
        await _until(lambda: smsc.outstanding == 1)

        await connector.aclose()
        outcomes = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 1.0)
        smsc.hold_responses(False)

        for outcome in outcomes:
            assert isinstance(outcome, ConnectorError)
            assert outcome.error_class is ErrorClass.TRANSIENT


class TestWindow:
    async def test_no_more_than_window_submits_are_outstanding(
        self, network: PhoneNetwork, inbox: Inbox
    ) -> None:
        smsc = Smsc(network, round_trip=0.05)
        await smsc.start()
        connector = SmppConnector("w", "127.0.0.1", smsc.port, "rcsgate", "secret", inbox, window=3)
        await connector.start()
        try:
            sends = (connector.send_sms("Acme", SMS_ONLY, f"n{n}", f"m{n}") for n in range(30))
            results = await asyncio.wait_for(asyncio.gather(*sends), WAIT)
        finally:
            await connector.aclose()
            await smsc.aclose()

        assert len(results) == len(smsc.submitted) == 30
        assert smsc.max_outstanding == 3


class TestReceipts:
    async def test_a_receipt_sent_before_the_submit_response_still_arrives(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()
        await connector.send_sms("Acme", SMS_ONLY, "warm-up", "m0")
        await inbox.next()
        smsc.dlr_before_resp(True)

        submitted = await connector.send_sms("Acme", SMS_ONLY, "Hi", "m1")

        assert not inbox.events.empty()  # the receipt was read before the submit_sm_resp
        receipt = await inbox.next()
        assert (receipt.ref, receipt.status) == (submitted.refs[0], ReceiptStatus.DELIVERED)

    @pytest.mark.parametrize(
        ("text", "status"),
        [
            ("id:7A sub:001 dlvrd:000 submit date:2603090800 done date:2603090801 "
             "stat:UNDELIV err:001 text:Hi", ReceiptStatus.FAILED),
            ("id:7A sub:001 dlvrd:000 submit date:2603090800 done date:2603091800 "
             "stat:EXPIRED err:000 text:", ReceiptStatus.EXPIRED),
            ("id:7A stat:REJECTD err:045", ReceiptStatus.FAILED),
            ("id:7A stat:DELETED err:000", ReceiptStatus.FAILED),
            ("id:7A stat:DELIVRD err:000 text:stat:UNDELIV", ReceiptStatus.DELIVERED),
            ("id:7A stat:ENROUTE err:000", None),
        ],
    )  # fmt: skip
    def test_the_text_form_alone_gives_ref_and_status(
        self, text: str, status: ReceiptStatus | None
    ) -> None:
        pdu = decode(encode("deliver_sm", 9, _receipt_fields(text)))

        receipt = parse_receipt(pdu, text)

        assert receipt is not None
        assert (receipt.ref, receipt.status) == ("7A", status)

    def test_the_message_state_tlv_wins_over_the_text(self) -> None:
        fields = _receipt_fields("id:7A stat:DELIVRD") | {
            "receipted_message_id": "7B",
            "message_state": 5,  # UNDELIVERABLE
        }
        pdu = decode(encode("deliver_sm", 9, fields))

        receipt = parse_receipt(pdu, "id:7A stat:DELIVRD")

        assert receipt is not None
        assert (receipt.ref, receipt.status) == ("7B", ReceiptStatus.FAILED)


class TestMo:
    async def test_an_mo_message_becomes_a_text_event(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()
        await connector.send_sms("Acme", SMS_ONLY, "bound", "m0")
        await inbox.next()

        await smsc.send_mo(SMS_ONLY, "STOP {all} €5", "72345")

        event = await inbox.next()
        assert (event.kind, event.msisdn) == (InboundKind.TEXT, SMS_ONLY)
        assert event.text == "STOP {all} €5"
        assert event.extra["to"] == "72345"

    async def test_a_concatenated_mo_message_is_reassembled(
        self, connect: Connect, smsc: Smsc, inbox: Inbox
    ) -> None:
        connector = await connect()
        await connector.send_sms("Acme", SMS_ONLY, "bound", "m0")
        await inbox.next()
        text = "Tack så mycket för hjälpen 🙏 " * 6

        await smsc.send_mo(SMS_ONLY, text, "72345")

        event = await inbox.next()
        assert event.text == text
        assert inbox.events.empty()

    async def test_the_smsc_gets_its_answer_only_after_the_sink_took_the_event(
        self, connect: Connect, smsc: Smsc
    ) -> None:
        taken: list[InboundEvent] = []
        calls = 0

        async def refuses_once(event: InboundEvent) -> None:
            nonlocal calls
            calls += 1
            if event.kind is InboundKind.TEXT and calls == 1:
                raise RuntimeError("database down")
            taken.append(event)

        connector = await connect(sink=refuses_once)
        await connector.send_sms("Acme", SMS_ONLY, "bound", "m0")
        await _until(lambda: len(taken) == 1)  # the receipt of "bound"
        calls = 0

        await asyncio.wait_for(smsc.send_mo(SMS_ONLY, "Hello", "72345"), WAIT)

        assert calls == 2  # refused (ESME_RX_T_APPN), then delivered again and taken
        assert [event.text for event in taken[1:]] == ["Hello"]

    async def test_parts_of_an_incomplete_mo_message_go_out_after_the_timeout(self) -> None:
        events: list[InboundEvent] = []

        async def sink(event: InboundEvent) -> None:
            events.append(event)

        inbound = Inbound("op", sink, FakeClock(), reassembly_timeout=0.05)
        part = {"source_addr": SMS_ONLY, "destination_addr": "72345", "esm_class": 0x40}
        first = part | {"short_message": bytes([5, 0, 3, 9, 3, 1]) + b"Hello "}
        second = part | {"short_message": bytes([5, 0, 3, 9, 3, 3]) + b"world"}

        statuses = await asyncio.gather(
            inbound.handle(decode(encode("deliver_sm", 1, first))),
            inbound.handle(decode(encode("deliver_sm", 2, second))),
        )

        assert list(statuses) == [0, 0]
        assert [event.text for event in events] == ["Hello world"]

    async def test_a_redelivered_mo_has_the_fingerprint_of_the_first(self) -> None:
        events: list[InboundEvent] = []

        async def sink(event: InboundEvent) -> None:
            events.append(event)

        inbound = Inbound("op", sink, FakeClock(), reassembly_timeout=0.05)
        part = {"source_addr": SMS_ONLY, "destination_addr": "72345", "esm_class": 0x40}
        for fields in (
            part | {"short_message": bytes([5, 0, 3, 9, 1, 1]) + b"Ja"},
            part | {"short_message": bytes([5, 0, 3, 9, 1, 1]) + b"Ja"},  # the same again
            part | {"short_message": bytes([5, 0, 3, 10, 1, 1]) + b"Ja"},  # sent anew
            {"source_addr": SMS_ONLY, "destination_addr": "72345", "short_message": b"Nej"},
        ):
            await inbound.handle(decode(encode("deliver_sm", 1, fields)))

        first, again, anew, other = (event.extra["fingerprint"] for event in events)
        assert first == again
        assert len({first, anew, other}) == 3


def _receipt_fields(text: str) -> dict[str, object]:
    return {
        "source_addr": SMS_ONLY,
        "destination_addr": "Acme",
        "esm_class": 0x04,
        "short_message": text.encode(),
    }


async def _until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), WAIT)
