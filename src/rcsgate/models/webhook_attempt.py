from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class WebhookAttempt(IdMixin, Base):
    """One POST of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "at"),)

    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"))
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    duration_ms: Mapped[float]
    error: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(2048))
