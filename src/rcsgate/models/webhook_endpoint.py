from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class WebhookEndpoint(Base):
    """One delivery queue: an account's deliveryReportUrl. Its backoff and its lease live
    here, so a failing URL waits alone and only one worker sends to it at a time (which keeps
    its deliveries in order).

    The id is derived from (account, url) (`webhooks.emit.endpoint_id`), so emitting an
    event needs no lookup: the row is inserted if missing and the delivery names it."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_due", "retry_at", "locked_until"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Consecutive failed rounds; 0 when the last round succeeded.
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    retry_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
