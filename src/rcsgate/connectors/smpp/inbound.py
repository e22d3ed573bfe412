"""deliver_sm from the SMSC as `InboundEvent`s: receipts become STATUS, MO messages TEXT.

Durability: `Inbound.handle` returns only after the sink accepted the event, and the session
sends the deliver_sm_resp only then, so a crash before that leaves the deliver_sm
unacknowledged and the SMSC delivers it again. Parts of a concatenated MO message are held
(unacknowledged) until the last part arrives and the whole text is accepted; when a part
is missing for `reassembly_timeout` seconds the parts that did arrive go out as they are.

SMPP 3.4 gives an MO message no id (and a deliver_sm no SMSC timestamp), so `event_id` stays
None: an MO redelivered after a crash between the sink and the deliver_sm_resp reaches the
sink twice. Its `extra["fingerprint"]` lets the sink drop the second: a hash of everything
the deliver_sm says about the message (source, destination, text, and what tells two sends
of one text apart where the SMSC gives it: the concatenation reference, the
user_message_reference TLV). Two messages alike in all of these are one message to the sink,
within its duplicate window.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from rcsgate.connectors.base import EventSink, InboundEvent, InboundKind, ReceiptStatus
from rcsgate.connectors.smpp.codec import ESME_ROK, ESME_RX_T_APPN, Pdu
from rcsgate.connectors.smpp.encoding import (
    ESM_CLASS_UDHI,
    Concatenation,
    decode_text,
    split_udh,
)
from rcsgate.connectors.smpp.receipts import Receipt, is_receipt, parse_receipt
from rcsgate.kit.clock import Clock
from rcsgate.kit.logging import get_logger

log = get_logger(__name__)

_PartsKey = tuple[str, str, int, int]  # source, destination, reference, total


@dataclass
class _Partial:
    total: int
    parts: dict[int, str] = field(default_factory=dict)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None


class Inbound:
    def __init__(
        self, operator: str, sink: EventSink, clock: Clock, *, reassembly_timeout: float
    ) -> None:
        self._operator = operator
        self._sink = sink
        self._clock = clock
        self._reassembly_timeout = reassembly_timeout
        self._partials: dict[_PartsKey, _Partial] = {}

    async def handle(self, pdu: Pdu) -> int:
        """The command_status for the deliver_sm_resp: ESME_RX_T_APPN (a temporary error,
        so the SMSC retries later) when the sink raised."""
        try:
            await self._translate(pdu)
        except Exception:
            log.exception("smpp.inbound_refused", operator=self._operator, seq=pdu.sequence)
            return ESME_RX_T_APPN
        return ESME_ROK

    async def _translate(self, pdu: Pdu) -> None:
        payload = pdu.octets("short_message") or pdu.octets("message_payload")
        concatenation, body = None, payload
        if (pdu.number("esm_class") or 0) & ESM_CLASS_UDHI:
            concatenation, body = split_udh(payload)
        text = decode_text(pdu.number("data_coding") or 0, body)
        if is_receipt(pdu):
            await self._receipt(pdu, text)
            return
        concatenation = concatenation or _sar(pdu)
        if concatenation is None or concatenation.total <= 1:
            reference = concatenation.reference if concatenation else None
            await self._sink(self._text_event(pdu, text, reference))
            return
        await self._part(pdu, concatenation, text)

    async def _receipt(self, pdu: Pdu, text: str) -> None:
        receipt = parse_receipt(pdu, text)
        if receipt is None:
            # Acknowledged all the same: the SMSC would only send the same bytes again.
            log.warning("smpp.receipt_unreadable", operator=self._operator, text=text[:160])
            return
        if receipt.status is None:
            return  # ENROUTE, ACCEPTD, ...: not final
        await self._sink(self._status_event(pdu, receipt, receipt.status))

    async def _part(self, pdu: Pdu, concatenation: Concatenation, text: str) -> None:
        key = (
            pdu.text("source_addr"),
            pdu.text("destination_addr"),
            concatenation.reference,
            concatenation.total,
        )
        partial = self._partials.setdefault(key, _Partial(concatenation.total))
        partial.parts[concatenation.index] = text
        if len(partial.parts) >= partial.total:
            await self._complete(key, partial, pdu)
            return
        try:
            await asyncio.wait_for(partial.settled.wait(), self._reassembly_timeout)
        except TimeoutError:
            if self._partials.get(key) is partial:
                log.warning("smpp.mo_incomplete", operator=self._operator, parts=len(partial.parts))
                await self._complete(key, partial, pdu)
                return
            await partial.settled.wait()  # another part is handing it over right now
        if partial.error is not None:
            raise RuntimeError("the sink refused the concatenated message") from partial.error

    async def _complete(self, key: _PartsKey, partial: _Partial, pdu: Pdu) -> None:
        del self._partials[key]
        text = "".join(partial.parts[index] for index in sorted(partial.parts))
        try:
            await self._sink(self._text_event(pdu, text, key[2]))
        except BaseException as error:
            partial.error = error
            raise
        finally:
            partial.settled.set()

    def _text_event(self, pdu: Pdu, text: str, reference: int | None) -> InboundEvent:
        return InboundEvent(
            operator=self._operator,
            kind=InboundKind.TEXT,
            msisdn=pdu.text("source_addr").removeprefix("+"),
            at=self._clock.now(),
            text=text,
            extra={
                "to": pdu.text("destination_addr"),
                "fingerprint": _fingerprint(pdu, text, reference),
            },
        )

    def _status_event(self, pdu: Pdu, receipt: Receipt, status: ReceiptStatus) -> InboundEvent:
        failed = status is not ReceiptStatus.DELIVERED
        return InboundEvent(
            operator=self._operator,
            kind=InboundKind.STATUS,
            msisdn=pdu.text("source_addr").removeprefix("+"),
            at=self._clock.now(),
            ref=receipt.ref,
            status=status,
            reason=f"stat:{receipt.state} err:{receipt.error}" if failed else None,
            extra={"stat": receipt.state, "err": receipt.error},
        )


def _sar(pdu: Pdu) -> Concatenation | None:
    """Concatenation told by the sar_* TLVs instead of a UDH."""
    total = pdu.number("sar_total_segments")
    index = pdu.number("sar_segment_seqnum")
    reference = pdu.number("sar_msg_ref_num")
    if total is None or index is None or reference is None:
        return None
    return Concatenation(reference, total, index)


def _fingerprint(pdu: Pdu, text: str, reference: int | None) -> str:
    said = (
        pdu.text("source_addr").removeprefix("+"),
        pdu.text("destination_addr").removeprefix("+"),
        text,
        "" if reference is None else str(reference),
        str(pdu.number("user_message_reference") or ""),
    )
    return hashlib.sha256("\x1f".join(said).encode()).hexdigest()
