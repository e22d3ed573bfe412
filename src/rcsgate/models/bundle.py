from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Bundle(IdMixin, Base):
    """One message to many recipients; its messages reference its content, not copy it."""

    __tablename__ = "bundles"
    __table_args__ = (
        Index(
            "uq_bundles_account_unique_id",
            "account_id",
            "unique_id",
            unique=True,
            sqlite_where=text("unique_id IS NOT NULL"),
            postgresql_where=text("unique_id IS NOT NULL"),
        ),
        Index("ix_bundles_account_created", "account_id", "id"),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    type: Mapped[str] = mapped_column(String(8))
    # The validated content fields (API.md 2.6) as sent, placeholders unfilled.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON)
    unique_id: Mapped[str | None] = mapped_column(String(200))
    delivery_report_url: Mapped[str | None] = mapped_column(String(2048))
    recipient_count: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    send_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class BundleTag(Base):
    """One row per tag, so `?tag=a&tag=b` is an indexed lookup on both databases."""

    __tablename__ = "bundle_tags"
    __table_args__ = (Index("ix_bundle_tags_account_tag", "account_id", "tag"),)

    bundle_id: Mapped[str] = mapped_column(ForeignKey("bundles.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
