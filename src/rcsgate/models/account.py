from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Account(IdMixin, Base):
    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    rate_limit: Mapped[int]
    created_at: Mapped[datetime]
    # Where events go when neither the request nor the agent names a URL.
    delivery_report_url: Mapped[str | None] = mapped_column(String(2048))
    # Standard Webhooks signing secrets (`whsec_...`). After a rotation the previous one
    # keeps signing beside the new one until `webhook_secret_previous_until`.
    webhook_secret: Mapped[str | None] = mapped_column(String(100))
    webhook_secret_previous: Mapped[str | None] = mapped_column(String(100))
    webhook_secret_previous_until: Mapped[datetime | None]
