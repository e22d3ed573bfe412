from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from rcsgate.kit.schemas import ApiModel, Timestamp

DeliveryStatus = Literal["Pending", "Delivered", "Failed"]
EventType = Literal[
    "message.status",
    "message.inbound",
    "conversation.started",
    "conversation.closed",
    "user.typing",
    "user.subscribed",
    "user.unsubscribed",
    "agent.status",
]


class AttemptRead(ApiModel):
    """One POST of the event to the endpoint."""

    at: Timestamp
    url: str
    response_code: int | None = Field(
        default=None, description="The HTTP status; null when none came (timeout, refused)"
    )
    duration_ms: float = Field(examples=[12.5])
    error: str | None = None


class WebhookDeliveryRead(ApiModel):
    """One event for one endpoint. `id` is the envelope's `id` and the `webhook-id` header of
    every attempt; `event` is the body that is POSTed."""

    id: str = Field(examples=["65eb3d14f784682890abc24f"])
    type: EventType
    status: DeliveryStatus = Field(
        description="Pending until a 2xx (retried with backoff), Delivered, or Failed after "
        "3 days without one (or at once for a refused URL)"
    )
    url: str = Field(examples=["https://example.com/rcs/events"])
    message_id: str | None = None
    created: Timestamp
    attempt_count: int
    last_attempt: Timestamp | None = None
    last_response_code: int | None = None
    last_error: str | None = None
    delivered: Timestamp | None = None
    give_up: Timestamp = Field(description="Failed if no 2xx came by then")
    event: dict[str, Any] = Field(description="The envelope: {id, type, created, data}")
    attempts: list[AttemptRead] | None = Field(
        default=None, description="Every attempt in order (on the single-delivery read)"
    )


class RedeliverSince(ApiModel):
    """Replay: every delivery of the account created at or after `since` (and in `status`,
    when given) is sent again, with its own id."""

    since: datetime = Field(examples=["2026-03-09T08:00:00Z"])
    status: DeliveryStatus | None = None


class RedeliveredRead(ApiModel):
    redelivered: int = Field(description="How many deliveries were queued again")
