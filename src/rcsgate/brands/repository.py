from __future__ import annotations

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Agent, Brand


class BrandRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, brand: Brand) -> None:
        self.session.add(brand)

    def live(self, account_id: str) -> Select[Brand]:
        return select(Brand).where(Brand.account_id == account_id, Brand.deleted_at.is_(None))

    async def find(self, account_id: str, name: str) -> Brand | None:
        """By brandName, else by displayName; both case-insensitive."""
        key = name.casefold()
        return await self.session.scalar(
            self.live(account_id)
            .where((Brand.name_key == key) | (Brand.display_key == key))
            .order_by(case((Brand.name_key == key, 0), else_=1))
            .limit(1)
        )

    async def name_taken(self, account_id: str, name_key: str) -> bool:
        found = await self.session.scalar(
            self.live(account_id).where(Brand.name_key == name_key).limit(1)
        )
        return found is not None

    async def live_agent_count(self, brand_id: str) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Agent)
            .where(Agent.brand_id == brand_id, Agent.deleted_at.is_(None))
        )
        return count or 0
