"""Conversations: started by a first message, continued by follow-ups, closed explicitly.

Only one conversation per agent and recipient is open at a time, so an inbound message has
exactly one place to go; starting a new one closes the previous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.agents.cache import Sender
from rcsgate.content import check_placeholders
from rcsgate.conversations.committer import NewConversation, StartCommitter, write_starts
from rcsgate.conversations.repository import ConversationRepository
from rcsgate.conversations.schemas import (
    ConversationCreate,
    ConversationEventCreate,
    ConversationRead,
    FollowUpCreate,
)
from rcsgate.dispatch.jobs import enqueue, job_row
from rcsgate.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from rcsgate.kit.clock import Clock
from rcsgate.kit.ids import new_id
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.messages import service as messages
from rcsgate.messages.schemas import MessageRead
from rcsgate.models import Conversation, Message
from rcsgate.webhooks import emit as webhooks


class ConversationClosed(Conflict):
    slug, title = "conversation-closed", "The conversation is closed"


@dataclass(frozen=True, slots=True)
class ConversationFilters:
    brand: str | None = None
    agent: str | None = None
    recipient: str | None = None
    unique_id: str | None = None
    status: str | None = None


async def start_conversation(
    session: AsyncSession,
    clock: Clock,
    pricing: messages.Pricing,
    account_id: str,
    data: ConversationCreate,
    committer: StartCommitter | None = None,
    *,
    platform_sender: str,
) -> MessageRead:
    """The conversation and its first message, queued with its send job; closes the agent's
    open conversation with the same recipient.

    With a `committer`, the rows are written by the process's group commit, and this returns
    once they are committed (the request's session only read). Without one, they are written
    in `session`, whose owner commits (an idempotent request: committed with its answer)."""
    start, read = await _prepare_start(session, clock, pricing, account_id, data, platform_sender)
    try:
        if committer is None:
            await write_starts(session, [start], clock=clock)
        else:
            if session.in_transaction():  # hand back the connection a read holds meanwhile
                await session.rollback()
            await committer.commit(start)
    except IntegrityError as exc:
        if data.unique_id is None:
            raise
        raise _unique_id_taken(data.unique_id) from exc
    return read


def _unique_id_taken(unique_id: str) -> AlreadyExists:
    return AlreadyExists(f"A conversation with uniqueId {unique_id!r} exists")


async def _prepare_start(
    session: AsyncSession,
    clock: Clock,
    pricing: messages.Pricing,
    account_id: str,
    data: ConversationCreate,
    platform_sender: str,
) -> tuple[NewConversation, MessageRead]:
    """Every check and read of a start, and its rows; writes nothing."""
    sender = await messages.resolve_sender(session, account_id, data.brand, data.agent)
    number, variables = data.recipient_number()
    check_placeholders(data, {number: variables})
    await messages.check_sms_sender(session, account_id, data, sender, platform_sender)
    repository = ConversationRepository(session)
    if data.unique_id and await repository.by_unique_id(account_id, data.unique_id):
        raise _unique_id_taken(data.unique_id)
    now = clock.now()
    conversation = _conversation_row(account_id, sender, number, data, now)
    stored = messages.filled_content(messages.stored_content(data, sender), variables)
    outbound = messages.Outbound(
        account_id=account_id,
        sender=sender,
        message_type=str(stored["type"]),
        pricing=pricing,
        reference=data.reference,
        delivery_report_url=data.delivery_report_url,
        send_at=None,
        now=now,
    )
    message = outbound.row(
        number,
        content=stored,
        variables=variables or None,
        expires_at=messages.expiry(stored, now),
        conversation_id=conversation["id"],
    )
    job = job_row(clock, "send_message", {"messageId": message["id"]})
    read = messages.new_read(message, sender, None if variables else data)
    return NewConversation(conversation, message, job), read


def _conversation_row(
    account_id: str, sender: Sender, number: str, data: ConversationCreate, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "account_id": account_id,
        "brand_id": sender.brand_id,
        "agent_id": sender.agent_id,
        "recipient": number,
        "unique_id": data.unique_id,
        "reference": data.reference,
        "delivery_report_url": data.delivery_report_url,
        "status": "Open",
        "started_by": "Business",
        "message_count": 1,
        "created_at": now,
        "last_activity_at": now,
        "closed_at": None,
    }


async def follow_up(
    session: AsyncSession,
    clock: Clock,
    pricing: messages.Pricing,
    account_id: str,
    conversation_id: str,
    data: FollowUpCreate,
    *,
    platform_sender: str,
) -> MessageRead:
    conversation = await _find(session, account_id, conversation_id)
    if conversation.status != "Open":
        raise ConversationClosed(f"Conversation {conversation_id} is closed; start a new one")
    sender = await messages.sender_of(session, conversation.brand_id, conversation.agent_id)
    check_placeholders(data, {conversation.recipient: {}})
    await messages.check_sms_sender(session, account_id, data, sender, platform_sender)
    return await _send(session, clock, pricing, conversation, sender, data, {})


async def _send(
    session: AsyncSession,
    clock: Clock,
    pricing: messages.Pricing,
    conversation: Conversation,
    sender: Sender,
    data: FollowUpCreate,
    variables: dict[str, object],
) -> MessageRead:
    now = clock.now()
    stored = messages.filled_content(messages.stored_content(data, sender), variables)
    outbound = messages.Outbound(
        account_id=conversation.account_id,
        sender=sender,
        message_type=str(stored["type"]),
        pricing=pricing,
        reference=data.reference or conversation.reference,
        delivery_report_url=data.delivery_report_url or conversation.delivery_report_url,
        send_at=None,
        now=now,
    )
    row = outbound.row(
        conversation.recipient,
        content=stored,
        variables=variables or None,
        expires_at=messages.expiry(stored, now),
        conversation_id=conversation.id,
    )
    message = messages.add_single(session, clock, outbound, row)
    conversation.message_count += 1
    conversation.last_activity_at = now
    await session.flush()  # one flush: the conversation (if new), the message and its job
    return messages.new_read(message, sender, None if variables else data)


async def _find(session: AsyncSession, account_id: str, conversation_id: str) -> Conversation:
    conversation = await ConversationRepository(session).get(account_id, conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}")
    return conversation


async def conversation_reads(
    session: AsyncSession, conversations: list[Conversation] | tuple[Conversation, ...]
) -> list[ConversationRead]:
    brands, agents = await messages.names(
        session, (c.brand_id for c in conversations), (c.agent_id for c in conversations)
    )
    return [
        ConversationRead(
            id=c.id,
            brand=brands[c.brand_id],
            agent=agents[c.agent_id],
            recipient=c.recipient,
            unique_id=c.unique_id,
            reference=c.reference,
            status=c.status,
            started_by=c.started_by,
            started=c.created_at,
            last_activity=c.last_activity_at,
            closed=c.closed_at,
            message_count=c.message_count,
        )
        for c in conversations
    ]


async def get_conversation(
    session: AsyncSession, account_id: str, conversation_id: str
) -> ConversationRead:
    conversation = await _find(session, account_id, conversation_id)
    return (await conversation_reads(session, [conversation]))[0]


async def list_conversations(
    session: AsyncSession, account_id: str, filters: ConversationFilters, params: PageParams
) -> tuple[Page[Conversation], list[ConversationRead]]:
    statement = await _filtered(session, account_id, filters)
    page = await paginate(session, statement, params, Conversation.id)
    return page, await conversation_reads(session, list(page.items))


async def _filtered(
    session: AsyncSession, account_id: str, filters: ConversationFilters
) -> Select[Conversation]:
    statement = ConversationRepository(session).of_account(account_id)
    if filters.brand is not None or filters.agent is not None:
        brand_ids, agent_ids = await messages.sender_ids(
            session, account_id, filters.brand, filters.agent
        )
        if brand_ids is not None:
            statement = statement.where(Conversation.brand_id.in_(brand_ids))
        if agent_ids is not None:
            statement = statement.where(Conversation.agent_id.in_(agent_ids))
    for column, value in (
        (Conversation.recipient, filters.recipient),
        (Conversation.unique_id, filters.unique_id),
        (Conversation.status, filters.status),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return statement


async def conversation_messages(
    session: AsyncSession, account_id: str, conversation_id: str, params: PageParams
) -> tuple[Page[Message], list[MessageRead]]:
    await _find(session, account_id, conversation_id)
    statement = ConversationRepository(session).messages(conversation_id)
    return await messages.read_page(session, statement, params)


async def send_event(
    session: AsyncSession,
    clock: Clock,
    account_id: str,
    conversation_id: str,
    data: ConversationEventCreate,
) -> ConversationRead:
    """Queue a typing indicator or a read receipt to the user."""
    conversation = await _find(session, account_id, conversation_id)
    if conversation.status != "Open":
        raise ConversationClosed(f"Conversation {conversation_id} is closed")
    message_id = await _event_message(session, conversation, data)
    payload = {"conversationId": conversation.id, "type": data.type, "messageId": message_id}
    enqueue(session, clock, "agent_event", payload)
    await session.flush()
    return (await conversation_reads(session, [conversation]))[0]


async def close_conversation(
    session: AsyncSession, clock: Clock, account_id: str, conversation_id: str
) -> ConversationRead:
    conversation = await _find(session, account_id, conversation_id)
    if conversation.status == "Open":
        conversation.status = "Closed"
        conversation.closed_at = conversation.last_activity_at = clock.now()
        await session.flush()
        await webhooks.conversations(session, [conversation.id], "conversation.closed")
    return (await conversation_reads(session, [conversation]))[0]


async def _event_message(
    session: AsyncSession, conversation: Conversation, data: ConversationEventCreate
) -> str | None:
    """The message a read receipt is for: the one named, else the latest inbound one."""
    repository = ConversationRepository(session)
    if data.message_id is None:
        latest = await repository.latest_inbound(conversation.id) if data.type == "Read" else None
        return latest.id if latest else None
    message = await repository.message(conversation.id, data.message_id)
    if message is None:
        raise ValidationFailed.field("/messageId", "is not a message of this conversation")
    return message.id
