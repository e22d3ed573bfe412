"""RBM's inbound push: Pub/Sub-style JSON whose `message.data` is base64 JSON, signed in
`X-Goog-Signature` as base64(HMAC-SHA512(client token, decoded data))."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from rcsgate.connectors.base import (
    InboundEvent,
    InboundKind,
    ReceiptStatus,
    SignatureError,
    event_time,
)

STATUS_EVENTS = {
    "DELIVERED": ReceiptStatus.DELIVERED,
    "READ": ReceiptStatus.READ,
    "TTL_EXPIRATION_REVOKED": ReceiptStatus.EXPIRED,
}
USER_EVENTS = {
    "IS_TYPING": InboundKind.TYPING,
    "SUBSCRIBE": InboundKind.SUBSCRIBE,
    "UNSUBSCRIBE": InboundKind.UNSUBSCRIBE,
}


def sign(client_token: str, data: bytes) -> str:
    digest = hmac.new(client_token.encode(), data, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def push_body(data: Mapping[str, Any], message_id: str) -> bytes:
    """A push request as RBM sends it (the simulator sends these)."""
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    return json.dumps({"message": {"data": encoded, "messageId": message_id}}).encode()


def decode_push(client_token: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The verified inner message of one push; SignatureError if it is not from RBM."""
    try:
        data = base64.b64decode(json.loads(body)["message"]["data"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise SignatureError("not an RBM push message") from error
    if not client_token:
        # An empty key is one anyone can sign with: refuse rather than verify against it.
        raise SignatureError("no client token is configured to verify X-Goog-Signature")
    given = headers.get("x-goog-signature") or headers.get("X-Goog-Signature") or ""
    # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a no).
    if not hmac.compare_digest(given.encode(), sign(client_token, data).encode()):
        raise SignatureError("X-Goog-Signature does not match")
    try:
        inner = json.loads(data)
    except ValueError as error:
        raise SignatureError("message.data is not JSON") from error
    if not isinstance(inner, dict):
        raise SignatureError("message.data is not an object")
    return inner


def to_events(operator: str, inner: Mapping[str, Any]) -> list[InboundEvent]:
    msisdn = str(inner.get("senderPhoneNumber", "")).removeprefix("+")
    common: dict[str, Any] = {
        "operator": operator,
        "msisdn": msisdn,
        "at": event_time(inner.get("sendTime")),
        "agent": inner.get("agentId"),
    }
    kind = inner.get("eventType")
    if kind in STATUS_EVENTS:
        ref = inner.get("messageId")
        event_id = inner.get("eventId")
        return [
            InboundEvent(
                kind=InboundKind.STATUS,
                status=STATUS_EVENTS[kind],
                ref=ref,
                event_id=event_id,
                **common,
            )
        ]
    if kind in USER_EVENTS:
        return [InboundEvent(kind=USER_EVENTS[kind], event_id=inner.get("eventId"), **common)]
    return _user_message(inner, common)


def _user_message(inner: Mapping[str, Any], common: dict[str, Any]) -> list[InboundEvent]:
    event_id = inner.get("messageId")
    if "suggestionResponse" in inner:
        tap = inner["suggestionResponse"]
        return [
            InboundEvent(
                kind=InboundKind.SUGGESTION,
                event_id=event_id,
                text=tap.get("text"),
                postback_data=tap.get("postbackData"),
                **common,
            )
        ]
    if "location" in inner:
        where = inner["location"]
        return [
            InboundEvent(
                kind=InboundKind.LOCATION,
                event_id=event_id,
                latitude=where.get("latitude"),
                longitude=where.get("longitude"),
                **common,
            )
        ]
    if "userFile" in inner:
        payload = inner["userFile"].get("payload", {})
        return [
            InboundEvent(
                kind=InboundKind.FILE,
                event_id=event_id,
                file_url=payload.get("fileUri"),
                file_mime=payload.get("mimeType"),
                **common,
            )
        ]
    if "text" in inner:
        return [
            InboundEvent(kind=InboundKind.TEXT, event_id=event_id, text=inner["text"], **common)
        ]
    return []  # an event type we do not act on
