from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Agent, AgentOperator, Brand


class AgentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Agent | AgentOperator) -> None:
        self.session.add(row)

    def live(self, brand_id: str) -> Select[Agent]:
        return select(Agent).where(Agent.brand_id == brand_id, Agent.deleted_at.is_(None))

    async def with_brand(
        self, account_id: str, brand_name: str, agent_name: str
    ) -> tuple[Brand, Agent] | None:
        """Brand and agent in one query, each by name, else by display name (any case)."""
        brand_key, agent_key = brand_name.casefold(), agent_name.casefold()
        row = (
            await self.session.execute(
                select(Brand, Agent)
                .join(Agent, Agent.brand_id == Brand.id)
                .where(
                    Brand.account_id == account_id,
                    Brand.deleted_at.is_(None),
                    Agent.deleted_at.is_(None),
                    (Brand.name_key == brand_key) | (Brand.display_key == brand_key),
                    (Agent.name_key == agent_key) | (Agent.display_key == agent_key),
                )
                .order_by(
                    case((Brand.name_key == brand_key, 0), else_=1),
                    case((Agent.name_key == agent_key, 0), else_=1),
                )
                .limit(1)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def find(self, brand_id: str, name: str) -> Agent | None:
        """By agentName, else by displayName; both case-insensitive."""
        key = name.casefold()
        return await self.session.scalar(
            self.live(brand_id)
            .where((Agent.name_key == key) | (Agent.display_key == key))
            .order_by(case((Agent.name_key == key, 0), else_=1))
            .limit(1)
        )

    async def name_taken(self, brand_id: str, name_key: str) -> bool:
        found = await self.session.scalar(self.live(brand_id).where(Agent.name_key == name_key))
        return found is not None

    async def operators(self, agent_ids: Sequence[str]) -> dict[str, list[AgentOperator]]:
        rows = await self.session.scalars(
            select(AgentOperator)
            .where(AgentOperator.agent_id.in_(agent_ids))
            .order_by(AgentOperator.agent_id, AgentOperator.operator)
        )
        by_agent: dict[str, list[AgentOperator]] = defaultdict(list)
        for row in rows:
            by_agent[row.agent_id].append(row)
        return by_agent
