from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.kit.db import bulk_insert, utc_day
from rcsgate.models import Agent, Brand, Bundle, Message, MessageEvent


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, message: Message) -> None:
        self.session.add(message)

    async def insert_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Bulk sends: plain rows, no ORM object each."""
        return await bulk_insert(self.session, Message.metadata.tables["messages"], rows)

    async def insert_events(self, rows: Iterable[Mapping[str, Any]]) -> int:
        return await bulk_insert(self.session, MessageEvent.metadata.tables["message_events"], rows)

    async def get(self, account_id: str, message_id: str) -> Message | None:
        return await self.session.scalar(
            select(Message).where(Message.id == message_id, Message.account_id == account_id)
        )

    async def usage(
        self, account_id: str, since: datetime, until: datetime
    ) -> Sequence[Row[str, str, int, Any]]:
        """(day, channel, messages, cost) of the account's outbound messages made in the period."""
        day = utc_day(Message.created_at, self.session.get_bind().dialect.name)
        statement = (
            select(day, Message.channel, func.count(), func.coalesce(func.sum(Message.price), 0))
            .where(
                Message.account_id == account_id,
                Message.direction == "Outbound",
                Message.created_at >= since,
                Message.created_at < until,
            )
            .group_by(day, Message.channel)
        )
        return (await self.session.execute(statement)).all()

    def of_account(self, account_id: str) -> Select[Message]:
        return select(Message).where(Message.account_id == account_id)

    async def events(self, message_id: str) -> Sequence[MessageEvent]:
        rows = await self.session.scalars(
            select(MessageEvent)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.at, MessageEvent.id)
        )
        return rows.all()

    def add_event(self, event: MessageEvent) -> None:
        self.session.add(event)

    async def names(
        self, brand_ids: Iterable[str], agent_ids: Iterable[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        brands = await self.session.execute(
            select(Brand.id, Brand.brand_name).where(Brand.id.in_(set(brand_ids)))
        )
        agents = await self.session.execute(
            select(Agent.id, Agent.agent_name).where(Agent.id.in_(set(agent_ids)))
        )
        return dict(brands.all()), dict(agents.all())

    async def bundle_contents(self, bundle_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = {bundle_id for bundle_id in bundle_ids if bundle_id}
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Bundle.id, Bundle.content).where(Bundle.id.in_(ids))
        )
        return dict(rows.all())

    async def sender(self, brand_id: str, agent_id: str) -> tuple[Brand, Agent]:
        brand = await self.session.get_one(Brand, brand_id)
        agent = await self.session.get_one(Agent, agent_id)
        return brand, agent

    async def brand_ids(self, account_id: str, name: str) -> list[str]:
        key = name.casefold()
        rows = await self.session.scalars(
            select(Brand.id).where(
                Brand.account_id == account_id, (Brand.name_key == key) | (Brand.display_key == key)
            )
        )
        return list(rows)

    async def agent_ids(self, account_id: str, name: str) -> list[str]:
        key = name.casefold()
        rows = await self.session.scalars(
            select(Agent.id).where(
                Agent.account_id == account_id, (Agent.name_key == key) | (Agent.display_key == key)
            )
        )
        return list(rows)


def created_between(
    statement: Select[Message], since: datetime | None, until: datetime | None
) -> Select[Message]:
    if since is not None:
        statement = statement.where(Message.created_at >= since)
    if until is not None:
        statement = statement.where(Message.created_at < until)
    return statement
