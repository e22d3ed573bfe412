from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class SmsSender(IdMixin, Base):
    """An SMS sender ID (originator) an account may use, once an operator has verified it.

    `sender` is stored normalised (a number without its leading `+`), so the accept path
    finds it with one lookup on the unique (account_id, sender) index.
    """

    __tablename__ = "sms_senders"
    __table_args__ = (Index("uq_sms_senders_account_sender", "account_id", "sender", unique=True),)

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    sender: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(String(100))
