from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import SmsSender


class SenderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, sender: SmsSender) -> None:
        self.session.add(sender)

    async def get(self, account_id: str, sender: str) -> SmsSender | None:
        return await self.session.scalar(
            select(SmsSender).where(SmsSender.account_id == account_id, SmsSender.sender == sender)
        )

    async def for_account(self, account_id: str) -> list[SmsSender]:
        rows = await self.session.scalars(
            select(SmsSender).where(SmsSender.account_id == account_id).order_by(SmsSender.sender)
        )
        return list(rows)

    async def is_verified(self, account_id: str, sender: str) -> bool:
        """The accept path's one lookup (the unique account+sender index); the single place a
        per-process cache of sender data would go."""
        found = await self.session.scalar(
            select(SmsSender.id).where(
                SmsSender.account_id == account_id,
                SmsSender.sender == sender,
                SmsSender.verified_at.is_not(None),
            )
        )
        return found is not None

    async def delete(self, sender: SmsSender) -> None:
        await self.session.delete(sender)
