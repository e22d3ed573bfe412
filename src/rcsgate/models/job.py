from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rcsgate.models.base import Base, IdMixin


class Job(IdMixin, Base):
    """Durable work for after the commit: written in the transaction of the state change that
    needs it, claimed by a worker with a lease, retried with backoff kept here."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_ready", "state", "queue", "run_at"),)

    kind: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(8))
    run_at: Mapped[datetime]
    attempts: Mapped[int]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
