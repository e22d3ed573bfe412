from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class IdempotencyKey(Base):
    """A POST's Idempotency-Key (or uniqueId): claimed before the work, answered after it."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8))
    locked_until: Mapped[datetime]
    response_status: Mapped[int | None]
    response_type: Mapped[str | None] = mapped_column(String(100))
    response_location: Mapped[str | None] = mapped_column(String(300))
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
