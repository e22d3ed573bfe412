from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from rcsgate.content import MessageContent
from rcsgate.kit.recipients import Variables
from rcsgate.kit.schemas import ApiModel, HttpsUrl, Timestamp

MAX_RECIPIENTS = 100_000
MAX_TAGS = 20
EXAMPLE: JsonDict = {
    "brand": "Min-Butik-AB",
    "agent": "Kundservice",
    "recipients": {"46700123456": {"name": "Kalle"}},
    "reference": "INTERN-REF-001",
    "tags": ["frakt", "viktigt"],
    "content": "Hej {name}! Här är ett exklusivt erbjudande till dig.",
    "uniqueId": "order-12345-id",
    "card": {
        "title": "Vår-REA!",
        "content": "Nu tömmer vi lagret inför sommaren.",
        "mediaUrl": "https://cdn.site.se/spring-sale.jpg",
    },
    "suggestions": [
        {
            "text": "Shoppa nu",
            "type": 1,
            "url": "https://site.se/shop",
            "postbackData": "track_sale_click",
        }
    ],
}


class BundleCreate(MessageContent):
    """One message to up to 100,000 recipients."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    brand: str = Field(min_length=1, max_length=100, description="brandName or displayName")
    agent: str = Field(min_length=1, max_length=100, description="agentName or displayName")
    recipients: dict[str, Variables | None] | list[str] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS,
        description="`{number: {variables}}`, or an array of numbers; 1 to 100,000 distinct",
        examples=[{"46700123456": {"name": "Kalle"}}, ["46700123456", "46700123457"]],
    )
    reference: str | None = Field(default=None, max_length=200, examples=["INTERN-REF-001"])
    tags: list[str] = Field(
        default=[],
        max_length=MAX_TAGS,
        examples=[["frakt", "viktigt"]],
        description="Up to 20 labels, each 1-100 characters; filter with `?tag=`",
    )
    unique_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        examples=["order-12345-id"],
        description="Your id for the send-out: unique per account",
    )
    delivery_report_url: HttpsUrl | None = None
    send_at: datetime | None = Field(
        default=None, description="Send later (ISO 8601), at most 180 days ahead"
    )


class BundleRead(ApiModel):
    id: str = Field(examples=["65eb3d14f1234567890abcde"])
    brand: str
    agent: str
    type: str
    content: str | None = None
    card: dict[str, Any] | None = None
    cards: list[dict[str, Any]] | None = None
    width: int | None = None
    media: dict[str, Any] | None = None
    suggestions: list[dict[str, Any]] | None = None
    reference: str | None = None
    tags: list[str]
    unique_id: str | None = None
    created: Timestamp
    send_at: Timestamp | None = None
    cancelled: Timestamp | None = None
    recipient_count: int
    status_counts: dict[str, int] = Field(examples=[{"Queued": 2, "Delivered": 1}])
    price: float
    currency: str
