"""Delivery receipts in a deliver_sm: the SMPP 3.4 TLVs when the SMSC sends them, else the
de-facto text format of appendix B (`id:... sub:... dlvrd:... submit date:... done date:...
stat:DELIVRD err:... text:...`), which every SMSC sends even when it also sends the TLVs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rcsgate.connectors.base import ReceiptStatus
from rcsgate.connectors.smpp.codec import Pdu

# esm_class bits 2-5 name the message type: an SMSC delivery receipt, or an intermediate
# delivery notification (which only ever says ENROUTE or ACCEPTD).
_MESSAGE_TYPE_MASK = 0x3C
_RECEIPT_TYPES = (0x04, 0x20)

_FIELD = re.compile(r"\b(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE)

# Final states only; ENROUTE, ACCEPTD and UNKNOWN say nothing the sender can act on.
_STATES = {
    "DELIVRD": ReceiptStatus.DELIVERED,
    "EXPIRED": ReceiptStatus.EXPIRED,
    "UNDELIV": ReceiptStatus.FAILED,
    "REJECTD": ReceiptStatus.FAILED,
    "DELETED": ReceiptStatus.FAILED,
}
# The message_state TLV (SMPP 3.4 section 5.2.28), as the stat: words above.
_MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    ref: str  # the SMSC message id from the submit_sm_resp
    state: str  # DELIVRD, UNDELIV, ...
    error: str = ""

    @property
    def status(self) -> ReceiptStatus | None:
        """None for a state that is not final."""
        return _STATES.get(self.state)


def is_receipt(pdu: Pdu) -> bool:
    esm_class = pdu.number("esm_class") or 0
    return (
        (esm_class & _MESSAGE_TYPE_MASK) in _RECEIPT_TYPES
        or bool(pdu.text("receipted_message_id"))
        or pdu.number("message_state") is not None
    )


def parse_receipt(pdu: Pdu, text: str) -> Receipt | None:
    """`text` is the decoded short_message. None when neither the TLVs nor the text name the
    message and its state."""
    fields = {name.lower(): value for name, value in _FIELD.findall(text.split(" text:")[0])}
    ref = pdu.text("receipted_message_id") or fields.get("id", "")
    tlv_state = pdu.number("message_state")
    state = _MESSAGE_STATES.get(tlv_state, "") if tlv_state is not None else ""
    state = state or fields.get("stat", "").upper()
    if not ref or not state:
        return None
    return Receipt(ref=ref, state=state, error=fields.get("err", ""))
