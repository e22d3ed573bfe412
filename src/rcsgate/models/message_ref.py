from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class MessageRef(Base):
    """An operator's id for one of our messages, where it is not our own id: the SMSC's id of
    each SMS segment (to match delivery receipts), and the id of each inbound message (so an
    operator's at-least-once callback is stored once)."""

    __tablename__ = "message_refs"

    operator: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
