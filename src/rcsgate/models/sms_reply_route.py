from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class SmsReplyRoute(Base):
    """An agent sent an SMS from `sender` to `recipient` through `operator`: a reply to that
    sender from that number belongs to the agent's account. SMS carries no agent, so this is
    the only thing that ties a reply to an account; a number answering a sender that several
    accounts used is not routed to any of them (see `UnroutableInbound`)."""

    __tablename__ = "sms_reply_routes"

    operator: Mapped[str] = mapped_column(String(32), primary_key=True)
    sender: Mapped[str] = mapped_column(String(20), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(16), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    last_sent_at: Mapped[datetime]
