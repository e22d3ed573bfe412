from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from rcsgate.kit.schemas import ApiModel, Timestamp

Direction = Literal["Outbound", "Inbound"]
Channel = Literal["RCS", "SMS"]
MessageStatus = Literal[
    "Scheduled",
    "Queued",
    "Sent",
    "Delivered",
    "Read",
    "Failed",
    "Expired",
    "Revoked",
    "RevokeFailed",
    "Cancelled",
    "Received",
]
FINAL_STATUSES = frozenset({"Read", "Failed", "Expired", "Revoked", "RevokeFailed", "Cancelled"})


class EventRead(ApiModel):
    """One step of a message's journey."""

    status: MessageStatus
    channel: Channel
    operator: str | None = None
    reason: str | None = None
    at: Timestamp


class MessageRead(ApiModel):
    """A message with its content as the recipient gets it (placeholders filled)."""

    id: str = Field(examples=["65eb3d14f784682890abc24f"])
    conversation_id: str | None = Field(default=None, examples=["65e15d14f1234547890abcde"])
    bundle_id: str | None = None
    brand: str = Field(examples=["min-butik-ab"])
    agent: str = Field(examples=["kundservice"])
    recipient: str = Field(examples=["46700123456"], description="E.164 digits, no '+'")
    direction: Direction
    type: str = Field(examples=["Text"], description="Text, Card, Carousel or Media")
    content: str | None = Field(default=None, examples=["Hej Kalle! Din order är skickad."])
    card: dict[str, Any] | None = None
    cards: list[dict[str, Any]] | None = None
    width: int | None = None
    media: dict[str, Any] | None = None
    suggestions: list[dict[str, Any]] | None = None
    postback_data: str | None = None
    status: MessageStatus
    status_reason: str | None = None
    channel: Channel
    price: float = Field(examples=[0.45])
    currency: str = Field(examples=["SEK"])
    segments: int
    reference: str | None = None
    created: Timestamp
    modified: Timestamp
    send_at: Timestamp | None = None
    expires: Timestamp | None = None
    events: list[EventRead] | None = Field(
        default=None, description="The whole journey in order (on the single-message read)"
    )


class CardRead(ApiModel):
    """One card of a message: one for a rich card, 2-10 for a carousel, by `order`."""

    id: str
    message_id: str
    order: int
    title: str | None = None
    content: str | None = None
    media_url: str | None = None
    thumbnail_url: str | None = None
    height: int | None = None
    width: int | None = None
    orientation: int | None = None
    image_alignment: int | None = None
    suggestions: list[dict[str, Any]] = []


class SuggestionRead(ApiModel):
    """A message-level suggestion, with its integer `type` and `typeName`."""

    model_config = ConfigDict(extra="allow")

    id: str
    message_id: str
    order: int
    type: int = Field(examples=[1])
    type_name: str = Field(examples=["OpenUrl"])
    text: str = Field(examples=["Se utbud"])
    postback_data: str | None = None
