from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base


class PortalSession(Base):
    """A logged-in portal user. The cookie holds a random token; only its SHA-256 is kept,
    so a leaked table cannot be replayed. Deleting the row ends the session (log-out)."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # The synchronizer token every form of this session carries (CSRF).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
