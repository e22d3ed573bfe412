from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from rcsgate.content import MessageContent
from rcsgate.kit.recipients import Variables, single_recipient
from rcsgate.kit.schemas import ApiModel, HttpsUrl, Timestamp

EXAMPLE: JsonDict = {
    "brand": "min-butik-ab",
    "agent": "kundservice",
    "recipient": "46700123456",
    "content": "Hej! Hur kan vi hjälpa dig idag?",
}


class FollowUpCreate(MessageContent):
    """A message in an open conversation: the content fields of API.md 2.6."""

    reference: str | None = Field(default=None, max_length=200, examples=["INTERN-REF-001"])
    delivery_report_url: HttpsUrl | None = Field(
        default=None, description="Where this message's events go (else the agent's, account's)"
    )


class ConversationCreate(FollowUpCreate):
    """Start a conversation by sending its first message."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    brand: str = Field(min_length=1, max_length=100, description="brandName or displayName")
    agent: str = Field(min_length=1, max_length=100, description="agentName or displayName")
    recipient: str | dict[str, Variables | None] = Field(
        description="A number, or `{number: {variables}}` to fill `{key}` placeholders",
        examples=["46700123456", {"46700123456": {"name": "Kalle"}}],
    )
    unique_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your id for the conversation: unique per account; a repeat within 24 h "
        "answers the first response again",
    )

    @field_validator("recipient", mode="after")
    @classmethod
    def _normalize(cls, value: str | dict[str, Any]) -> dict[str, Variables]:
        return single_recipient(value)

    def recipient_number(self) -> tuple[str, Variables]:
        assert isinstance(self.recipient, dict)
        ((number, variables),) = self.recipient.items()
        return number, variables or {}


class ConversationRead(ApiModel):
    id: str = Field(examples=["65e15d14f1234547890abcde"])
    brand: str = Field(examples=["min-butik-ab"])
    agent: str = Field(examples=["kundservice"])
    recipient: str = Field(examples=["46700123456"])
    unique_id: str | None = Field(default=None, examples=["conversation-12345-id"])
    reference: str | None = None
    status: Literal["Open", "Closed"]
    started_by: Literal["Business", "User"]
    started: Timestamp
    last_activity: Timestamp
    closed: Timestamp | None = None
    message_count: int


class ConversationEventCreate(ApiModel):
    type: Literal["Typing", "Read"] = Field(
        description="`Typing`: show the typing indicator; `Read`: a read receipt"
    )
    message_id: str | None = Field(
        default=None, description="With `Read`: the inbound message read (default: the latest)"
    )
