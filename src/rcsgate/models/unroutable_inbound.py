from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class UnroutableReason(StrEnum):
    NO_ROUTE = "no_route"  # no account sent an SMS from that sender to that number
    AMBIGUOUS = "ambiguous"  # several accounts did: guessing would hand one the other's reply


class UnroutableInbound(IdMixin, Base):
    """A user's message that no single account may have, kept for operators to look at
    (`rcsgate inbound unroutable`) instead of being guessed into someone's conversation."""

    __tablename__ = "unroutable_inbound"
    __table_args__ = (Index("ix_unroutable_inbound_received", "received_at", "id"),)

    operator: Mapped[str] = mapped_column(String(32))
    msisdn: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    accounts: Mapped[int]  # how many accounts the sender and number matched
    received_at: Mapped[datetime]
