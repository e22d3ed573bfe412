"""What every connector speaks, whatever the operator.

Errors, drawn once:

    ConnectorError(error_class, reason)        anything that went wrong talking to an operator
        error_class TRANSIENT     5xx, connection refused or reset: retry with backoff
        error_class THROTTLED     429, ESME_RTHROTTLED: retry after `retry_after` (or backoff)
        error_class TIMEOUT       no answer in time: retry; the same message id makes it safe
        error_class REJECTED      the operator refuses this message for good: Failed
        error_class UNREACHABLE   the recipient cannot get this channel: route elsewhere
    SignatureError                an inbound callback whose signature does not verify

The retry policy (dispatch) is a table keyed by `error_class`, so a connector only has to map
its protocol's errors onto these five.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class ErrorClass(StrEnum):
    TRANSIENT = "transient"
    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"


class ConnectorError(Exception):
    """A failed operator call. `unsent` is True only when the operator certainly did not take
    the message (it answered with an error, or the request never left); otherwise (a timeout,
    a connection lost in flight) it may have been taken."""

    def __init__(
        self,
        error_class: ErrorClass,
        reason: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(f"{error_class}: {reason}")
        self.error_class = error_class
        self.reason = reason
        self.retry_after = retry_after
        self.status = status
        self.unsent = unsent


class SignatureError(Exception):
    """An inbound callback that is not from the operator it claims to be."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """The operator took the message. `refs` are the operator's ids for it: our message id for
    RBM and MaaP, one SMSC message id per segment for SMPP."""

    refs: tuple[str, ...]
    segments: int = 1


@dataclass(frozen=True, slots=True)
class Capability:
    msisdn: str
    rcs: bool
    features: tuple[str, ...] = ()


class InboundKind(StrEnum):
    STATUS = "status"  # a receipt for an outbound message: see `status`
    TEXT = "text"  # the user wrote something
    SUGGESTION = "suggestion"  # the user tapped a suggestion: postback_data and text
    LOCATION = "location"
    FILE = "file"
    TYPING = "typing"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


class ReceiptStatus(StrEnum):
    DELIVERED = "Delivered"
    READ = "Read"
    FAILED = "Failed"
    EXPIRED = "Expired"  # the operator gave up at the TTL (RBM TTL_EXPIRATION_REVOKED)
    REVOKED = "Revoked"


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One thing an operator told us, in connector-neutral words.

    For `STATUS`, `ref` names the outbound message as the operator knows it (see `Submitted`).
    For user messages, `event_id` is the operator's id of the inbound message, used to drop
    duplicates of an at-least-once callback.
    """

    operator: str
    kind: InboundKind
    msisdn: str
    at: datetime
    agent: str | None = None
    ref: str | None = None
    status: ReceiptStatus | None = None
    reason: str | None = None
    event_id: str | None = None
    text: str | None = None
    postback_data: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    file_url: str | None = None
    file_mime: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


EventSink = Callable[[InboundEvent], Awaitable[None]]


def event_time(value: object) -> datetime:
    """An operator's ISO 8601 timestamp; the time of receipt when it gives none we can read."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


class RcsConnector(Protocol):
    """An RCS operator API (RBM, MaaP). `agent` is the operator's id of the agent or bot;
    `body` is the message already rendered in the operator's format (content/)."""

    name: str

    async def send(
        self,
        agent: str,
        msisdn: str,
        message_id: str,
        body: Mapping[str, Any],
        *,
        ttl_seconds: int | None = None,
        traffic_type: str | None = None,
    ) -> Submitted: ...

    async def revoke(self, agent: str, msisdn: str, message_id: str) -> bool:
        """True when revoked; False when the operator had already delivered it."""
        ...

    async def capability(self, agent: str, msisdn: str) -> Capability: ...

    async def capabilities(self, agent: str, msisdns: Sequence[str]) -> list[Capability]: ...

    async def agent_event(
        self,
        agent: str,
        msisdn: str,
        event: str,
        message_id: str | None = None,
        *,
        event_id: str | None = None,
    ) -> None:
        """`event` is "READ" (with the user's message id) or "IS_TYPING". `event_id`, where the
        operator takes one, makes a repeat of the same event a no-op."""
        ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify (SignatureError) and translate one callback request."""
        ...

    async def aclose(self) -> None: ...


class SmsConnector(Protocol):
    """An SMS route (SMPP). Receipts and MO messages arrive on the session and are handed to
    the `EventSink` the connector was built with."""

    name: str

    async def send_sms(self, sender: str, msisdn: str, text: str, message_id: str) -> Submitted: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...
