from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Message(IdMixin, Base):
    """One message to or from one recipient.

    A bundle's messages carry no content of their own (`content` is NULL): the bundle holds it
    and `variables` fills its placeholders, so a 100,000-recipient bundle stores small rows.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_account_created", "account_id", "id"),
        Index("ix_messages_bundle", "bundle_id", "id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_account_recipient", "account_id", "recipient", "id"),
        Index("ix_messages_account_status", "account_id", "status", "id"),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    bundle_id: Mapped[str | None] = mapped_column(ForeignKey("bundles.id"))
    recipient: Mapped[str] = mapped_column(String(16))
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    direction: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(8))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    postback_data: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(4))
    operator: Mapped[str | None] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    currency: Mapped[str] = mapped_column(String(3))
    segments: Mapped[int]
    reference: Mapped[str | None] = mapped_column(String(200))
    delivery_report_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    modified_at: Mapped[datetime]
    send_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    # How many times the status moved: the `sequence` of its message.status webhooks.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # When a submit_sm for its SMS was last about to go out, committed before the PDU leaves;
    # cleared when the SMSC answered with an error. Set, with no Sent(SMS) recorded, it means
    # the SMSC may have the SMS: a rerun waits for RCSGATE_SMS_RESUBMIT_AFTER before resending.
    sms_submit_attempted_at: Mapped[datetime | None]


class MessageEvent(IdMixin, Base):
    """One step of a message's journey after its creation (which the message row records)."""

    __tablename__ = "message_events"
    __table_args__ = (Index("ix_message_events_message", "message_id", "at", "id"),)

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(4))
    operator: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
