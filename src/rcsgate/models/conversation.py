from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Conversation(IdMixin, Base):
    """A two-way thread between one agent and one recipient."""

    __tablename__ = "conversations"
    __table_args__ = (
        # uniqueId is unique per account for as long as the conversation exists (API.md 1).
        Index(
            "uq_conversations_account_unique_id",
            "account_id",
            "unique_id",
            unique=True,
            sqlite_where=text("unique_id IS NOT NULL"),
            postgresql_where=text("unique_id IS NOT NULL"),
        ),
        Index("ix_conversations_account_created", "account_id", "id"),
        Index("ix_conversations_agent_recipient", "agent_id", "recipient", "status"),
        # One open conversation per agent and recipient, whatever writes concurrently.
        Index(
            "uq_conversations_one_open",
            "agent_id",
            "recipient",
            unique=True,
            sqlite_where=text("status = 'Open'"),
            postgresql_where=text("status = 'Open'"),
        ),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    recipient: Mapped[str] = mapped_column(String(16))
    unique_id: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    delivery_report_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(8))
    started_by: Mapped[str] = mapped_column(String(8))
    message_count: Mapped[int]
    created_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
