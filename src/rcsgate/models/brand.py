from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Brand(IdMixin, Base):
    """A company identity. Deleting is soft: sent messages keep naming the brand."""

    __tablename__ = "brands"
    __table_args__ = (
        Index(
            "uq_brands_account_name_live",
            "account_id",
            "name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    brand_name: Mapped[str] = mapped_column(String(64))
    # Lower-cased brand_name: names are matched case-insensitively.
    name_key: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    # casefold() of display_name: requests may name it by its display name, in any case.
    display_key: Mapped[str] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(2048))
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
