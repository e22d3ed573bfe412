from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Agent(IdMixin, Base):
    """A sender profile (chatbot) under a brand."""

    __tablename__ = "agents"
    __table_args__ = (
        Index(
            "uq_agents_brand_name_live",
            "brand_id",
            "name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"), index=True)
    agent_name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    # casefold() of display_name: requests may name it by its display name, in any case.
    display_key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(100))
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    hero_url: Mapped[str | None] = mapped_column(String(2048))
    color: Mapped[str | None] = mapped_column(String(7))
    phone: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(2048))
    email: Mapped[str | None] = mapped_column(String(320))
    privacy_url: Mapped[str | None] = mapped_column(String(2048))
    terms_url: Mapped[str | None] = mapped_column(String(2048))
    use_case: Mapped[str] = mapped_column(String(16))
    sms_sender: Mapped[str | None] = mapped_column(String(16))
    delivery_report_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    modified_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class AgentOperator(Base):
    """The agent's launch state at one operator."""

    __tablename__ = "agent_operators"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    operator: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    modified_at: Mapped[datetime]
