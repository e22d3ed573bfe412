"""MaaP notifications to the bot's webhook: verified, then read as `InboundEvent`s.

Each notification is one JSON object: `event` (`messageStatus`, `message`, `response`,
`isTyping`, ...), `messageContact.userContact` and an `RCSMessage`.

FNW.11 leaves webhook authentication to the operator (basic auth, tokens, IP allow-lists). We
use one scheme for every MaaP operator, a documented simplification: `X-Maap-Signature` is the
hex HMAC-SHA256 of the raw request body keyed with the bot's callback secret. An operator that
authenticates differently needs its own verifier here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from rcsgate.connectors.base import (
    InboundEvent,
    InboundKind,
    ReceiptStatus,
    SignatureError,
    event_time,
)

SIGNATURE_HEADER = "X-Maap-Signature"
STATUSES = {
    "delivered": ReceiptStatus.DELIVERED,
    "displayed": ReceiptStatus.READ,
    "failed": ReceiptStatus.FAILED,
    "cancelled": ReceiptStatus.REVOKED,
}

Fields = dict[str, Any]


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """SignatureError unless `body` carries a valid signature (headers in any case)."""
    if not secret:
        # An empty key is one anyone can sign with: refuse rather than verify against it.
        raise SignatureError(f"no callback secret is configured to verify {SIGNATURE_HEADER}")
    wanted = SIGNATURE_HEADER.lower()
    given = next((value for key, value in headers.items() if key.lower() == wanted), None)
    if not given:
        raise SignatureError(f"{SIGNATURE_HEADER} is missing")
    if not hmac.compare_digest(given.strip().lower().encode(), sign(secret, body).encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match")


def decode(body: bytes) -> Mapping[str, Any]:
    """The notification object; an authentic body that is not one gives `{}` (no events), as a
    retry of it could not succeed either."""
    try:
        notification = json.loads(body)
    except ValueError:
        return {}
    return notification if isinstance(notification, dict) else {}


def to_events(operator: str, notification: Mapping[str, Any]) -> list[InboundEvent]:
    rcs = notification.get("RCSMessage")
    read = _READERS.get(str(notification.get("event")))
    if not isinstance(rcs, dict) or read is None:
        return []  # a notification we do not act on (fileStatus, alias, newUser)
    contact = notification.get("messageContact") or {}
    common: Fields = {
        "operator": operator,
        "msisdn": _msisdn(contact.get("userContact")),
        "at": event_time(rcs.get("timestamp")),
        "agent": notification.get("botId"),
    }
    return read(rcs, common)


def _status(rcs: Mapping[str, Any], common: Fields) -> list[InboundEvent]:
    status = STATUSES.get(str(rcs.get("status", "")).lower())
    if status is None:
        return []  # pending and sent say nothing our message states need
    reason = rcs.get("reason")
    return [
        InboundEvent(
            kind=InboundKind.STATUS,
            status=status,
            ref=rcs.get("msgId"),
            reason=str(reason) if reason else None,
            **common,
        )
    ]


def _typing(rcs: Mapping[str, Any], common: Fields) -> list[InboundEvent]:
    if rcs.get("isTyping") != "active":
        return []
    return [InboundEvent(kind=InboundKind.TYPING, **common)]


def _user_message(rcs: Mapping[str, Any], common: Fields) -> list[InboundEvent]:
    """`message` and `response` carry the same user content; the first key present decides."""
    common = {**common, "event_id": rcs.get("msgId")}
    for key, read in _CONTENT:
        value = rcs.get(key)
        if value is None:
            continue
        try:
            return [InboundEvent(**common, **read(value))]
        except (AttributeError, KeyError, TypeError, ValueError):
            return []  # authentic but malformed: a retry of it would fail the same way
    return []


def _suggestion(tapped: Mapping[str, Any]) -> Fields:
    response = tapped.get("response", tapped)
    chip = response.get("reply") or response.get("action") or {}
    return {
        "kind": InboundKind.SUGGESTION,
        "text": chip.get("displayText"),
        "postback_data": (chip.get("postback") or {}).get("data"),
    }


def _location(where: Mapping[str, Any]) -> Fields:
    """`{latitude, longitude}`, or a geolocation push whose `pos` is "latitude longitude"."""
    if "pos" in where:
        latitude, longitude = (float(v) for v in str(where["pos"]).replace(",", " ").split()[:2])
    else:
        latitude, longitude = float(where["latitude"]), float(where["longitude"])
    return {"kind": InboundKind.LOCATION, "latitude": latitude, "longitude": longitude}


def _file(file: Mapping[str, Any]) -> Fields:
    return {
        "kind": InboundKind.FILE,
        "file_url": file.get("fileUrl"),
        "file_mime": file.get("fileMIMEType"),
    }


def _text(text: object) -> Fields:
    return {"kind": InboundKind.TEXT, "text": str(text)}


_CONTENT: tuple[tuple[str, Callable[[Any], Fields]], ...] = (
    ("suggestedResponse", _suggestion),
    ("userLocation", _location),
    ("location", _location),
    ("geolocationPushMessage", _location),
    ("fileMessage", _file),
    ("textMessage", _text),
)
_READERS: dict[str, Callable[[Mapping[str, Any], Fields], list[InboundEvent]]] = {
    "messageStatus": _status,
    "isTyping": _typing,
    "message": _user_message,
    "response": _user_message,
}


def _msisdn(contact: object) -> str:
    return str(contact or "").removeprefix("tel:").removeprefix("+")
