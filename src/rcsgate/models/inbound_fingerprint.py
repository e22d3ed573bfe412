from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class InboundFingerprint(Base):
    """The last time a user message without an operator id (SMPP MO) was stored, by a hash of
    what the operator gave us about it: the same fingerprint again within the duplicate window
    is the operator delivering it again (it never got our acknowledgement), not a new message.
    The primary key makes two workers storing the same redelivery at once collide instead of
    both storing it."""

    __tablename__ = "inbound_fingerprints"

    operator: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]
