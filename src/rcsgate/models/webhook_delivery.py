from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class WebhookDelivery(Base):
    """One event for one endpoint; its id is the envelope's `id` and the `webhook-id` header
    of every attempt, retries and redeliveries alike."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_account_created", "account_id", "id"),
        # The queue: an endpoint's pending deliveries in order.
        Index(
            "ix_webhook_deliveries_pending",
            "endpoint_id",
            "id",
            sqlite_where=text("status = 'Pending'"),
            postgresql_where=text("status = 'Pending'"),
        ),
        # One message.status event per step of the message's sequence: emitting again for a
        # message whose status did not move is a no-op (ON CONFLICT DO NOTHING). Other events
        # carry no sequence, and NULLs never conflict.
        Index("uq_webhook_deliveries_message_sequence", "message_id", "sequence", unique=True),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    type: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(24))
    sequence: Mapped[int | None]
    # Deliveries with the same key are sent one after another, in id order.
    order_key: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
