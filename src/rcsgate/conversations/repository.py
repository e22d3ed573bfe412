from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Select, Table, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Conversation, Message

CONVERSATIONS = cast(Table, Conversation.__table__)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, conversation: Conversation) -> None:
        self.session.add(conversation)

    async def get(self, account_id: str, conversation_id: str) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.account_id == account_id
            )
        )

    async def by_unique_id(self, account_id: str, unique_id: str) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(
                Conversation.account_id == account_id, Conversation.unique_id == unique_id
            )
        )

    def of_account(self, account_id: str) -> Select[Conversation]:
        return select(Conversation).where(Conversation.account_id == account_id)

    def messages(self, conversation_id: str) -> Select[Message]:
        return select(Message).where(Message.conversation_id == conversation_id)

    async def close_open(self, agent_id: str, recipient: str, at: datetime) -> list[str]:
        """Only one conversation per agent and recipient is open: replies go to it. The ids
        of those closed."""
        result = await self.session.execute(
            update(Conversation)
            .where(
                Conversation.agent_id == agent_id,
                Conversation.recipient == recipient,
                Conversation.status == "Open",
            )
            .values(status="Closed", closed_at=at)
            .returning(Conversation.id)
            # Nothing in this session holds those rows: skip the ORM's in-memory sync.
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def close_open_pairs(self, pairs: list[tuple[str, str]], at: datetime) -> list[str]:
        """`close_open` for many (agent id, recipient) pairs in one statement. On the
        table (Core), not the entity: the ORM's bulk-update setup for every batch of the
        accept path's group commit cost more than the statement, and no object in the
        session holds these rows."""
        table = CONVERSATIONS
        result = await self.session.execute(
            update(table)
            .where(
                tuple_(table.c.agent_id, table.c.recipient).in_(pairs),
                table.c.status == "Open",
            )
            .values(status="Closed", closed_at=at)
            .returning(table.c.id)
        )
        return list(result.scalars())

    async def latest_inbound(self, conversation_id: str) -> Message | None:
        return await self.session.scalar(
            self.messages(conversation_id)
            .where(Message.direction == "Inbound")
            .order_by(Message.id.desc())
            .limit(1)
        )

    async def message(self, conversation_id: str, message_id: str) -> Message | None:
        return await self.session.scalar(
            self.messages(conversation_id).where(Message.id == message_id)
        )
