"""Outbound messages as the API accepts them, and every read of messages.

A message is created `Queued` (or `Scheduled` when it has a send time) in the same
transaction as the job that will send it; its later journey is written by the dispatch
pipeline as `MessageEvent`s. The creation itself is the journey's first step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.agents.cache import Sender, by_ids, senders
from rcsgate.agents.service import AgentNotLaunched, sending_agent
from rcsgate.content import MessageContent, card_view, fill, suggestion_view
from rcsgate.context import AppContext
from rcsgate.dispatch.jobs import enqueue
from rcsgate.errors import Conflict, NotFound
from rcsgate.keys.service import Principal
from rcsgate.kit.clock import Clock
from rcsgate.kit.ids import new_id
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.kit.settled import SettledPages
from rcsgate.messages.repository import MessageRepository, created_between
from rcsgate.messages.schemas import (
    FINAL_STATUSES,
    CardRead,
    EventRead,
    MessageRead,
    SuggestionRead,
)
from rcsgate.models import Message, MessageEvent
from rcsgate.senders.service import require_verified

CONTENT_FIELDS = frozenset(MessageContent.model_fields)
TRAFFIC_BY_USE_CASE = {
    "OTP": "Authentication",
    "Transactional": "Transaction",
    "Promotional": "Promotion",
    "MultiUse": "Transaction",
}


class MessageNotRevocable(Conflict):
    slug, title = "message-not-revocable", "The message can no longer be revoked"


@dataclass(frozen=True, slots=True)
class Pricing:
    price: Decimal
    currency: str


async def resolve_sender(
    session: AsyncSession, account_id: str, brand_name: str, agent_name: str
) -> Sender:
    return await sending_agent(session, account_id, brand_name, agent_name)


async def check_sms_sender(
    session: AsyncSession,
    account_id: str,
    content: MessageContent,
    sender: Sender,
    platform_sender: str,
) -> None:
    """A message that may fall back to SMS goes out under `fallback.sms.sender`, else the
    agent's `smsSender`, else the platform's default sender; the first two must be verified
    for the account (`SenderNotVerified`, 403, naming the field)."""
    if content.fallback is None:
        return  # never sent as SMS
    named = content.fallback.sms.sender if content.fallback.sms else None
    if named is not None:
        pointer, value = "/fallback/sms/sender", named
    elif sender.sms_sender is not None:
        pointer, value = "/agent", sender.sms_sender
    else:
        return
    await require_verified(session, account_id, value, platform_sender, pointer)


def stored_content(content: MessageContent, sender: Sender) -> dict[str, Any]:
    """The content fields of a request as stored: JSON, camelCase, defaults made explicit."""
    dumped = content.model_dump(
        mode="json", by_alias=True, exclude_none=True, include=set(CONTENT_FIELDS)
    )
    dumped.setdefault("trafficType", TRAFFIC_BY_USE_CASE.get(sender.use_case, "Transaction"))
    if "fallback" in dumped and sender.sms_sender is not None:
        # The agent's sender is pinned as checked at accept: a later change of the agent
        # cannot put an unverified sender on a message already accepted.
        sms = dumped["fallback"].setdefault("sms", {})
        sms.setdefault("sender", sender.sms_sender)
    return dumped


def filled_content(
    stored: Mapping[str, Any], variables: Mapping[str, Any] | None
) -> dict[str, Any]:
    if not variables:
        return dict(stored)
    content = fill(MessageContent.model_validate(stored), variables)
    return content.model_dump(mode="json", by_alias=True, exclude_none=True)


def expiry(stored: Mapping[str, Any], start: datetime) -> datetime | None:
    ttl = stored.get("ttl")
    return start + timedelta(seconds=int(ttl)) if ttl else None


@dataclass(frozen=True, slots=True)
class Outbound:
    """What every new outbound message of one send shares."""

    account_id: str
    sender: Sender
    message_type: str
    pricing: Pricing
    reference: str | None
    delivery_report_url: str | None
    send_at: datetime | None
    now: datetime

    def row(
        self,
        recipient: str,
        *,
        content: dict[str, Any] | None,
        variables: Mapping[str, Any] | None,
        expires_at: datetime | None,
        conversation_id: str | None = None,
        bundle_id: str | None = None,
    ) -> dict[str, Any]:
        """One `messages` row as a plain dict (bulk inserts build no ORM objects)."""
        return {
            "id": new_id(),
            "account_id": self.account_id,
            "brand_id": self.sender.brand_id,
            "agent_id": self.sender.agent_id,
            "conversation_id": conversation_id,
            "bundle_id": bundle_id,
            "recipient": recipient,
            "variables": dict(variables) if variables else None,
            "direction": "Outbound",
            "type": self.message_type,
            "content": content,
            "postback_data": None,
            "status": "Scheduled" if self.send_at else "Queued",
            "status_reason": None,
            "channel": "RCS",
            "operator": None,
            "price": self.pricing.price,
            "currency": self.pricing.currency,
            "segments": 1,
            "reference": self.reference,
            "delivery_report_url": self.delivery_report_url,
            "created_at": self.now,
            "modified_at": self.now,
            "send_at": self.send_at,
            "expires_at": expires_at,
        }


def add_single(
    session: AsyncSession, clock: Clock, outbound: Outbound, row: dict[str, Any]
) -> Message:
    """One new outbound message and its send job, added to the caller's transaction (the
    caller flushes once for everything it adds)."""
    message = Message(**row)
    MessageRepository(session).add(message)
    enqueue(session, clock, "send_message", {"messageId": message.id}, run_at=outbound.send_at)
    return message


def pricing(context: AppContext, principal: Principal) -> Pricing:
    """The price of one message for the calling account, in its currency."""
    return Pricing(context.settings.message_price, principal.currency)


class _Row:
    """A new message's row read by attribute, as its `Message` would be: building the ORM
    object only to read it back cost the accept path more than the rest of its answer."""

    __slots__ = ("_row",)

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return self._row[name]


def new_read(
    message: Message | Mapping[str, Any], sender: Sender, validated: MessageContent | None = None
) -> MessageRead:
    """A message just created (stored, or its row), as the API shows it: no query needed.
    `validated`: the request's content when the message's stored content is that same
    content (no placeholder was filled), which then is not validated a second time."""
    read = message if isinstance(message, Message) else _Row(message)
    return message_read(
        read,
        sender.brand_name,
        sender.agent_name,
        read.content or {},
        journey(read, []),
        validated=validated,
    )


# Reads


@dataclass(frozen=True, slots=True)
class MessageFilters:
    status: str | None = None
    recipient: str | None = None
    direction: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def immutable(self) -> bool:
        """True when no filter is on a column that changes (status, channel)."""
        return self.status is None and self.channel is None

    def apply(self, statement: Select[Message]) -> Select[Message]:
        for column, value in (
            (Message.status, self.status),
            (Message.recipient, self.recipient),
            (Message.direction, self.direction),
            (Message.channel, self.channel),
        ):
            if value is not None:
                statement = statement.where(column == value)
        return created_between(statement, self.since, self.until)


async def list_messages(
    session: AsyncSession,
    account_id: str,
    filters: MessageFilters,
    params: PageParams,
    settled: SettledPages,
) -> tuple[Page[Message], list[MessageRead]]:
    statement = filters.apply(MessageRepository(session).of_account(account_id))
    if not filters.immutable():
        return await read_page(session, statement, params)
    # Messages are never deleted and these filters never change: settled pages hold.
    query_key = f"messages:{account_id}:{filters!r}"
    page = await settled.page(session, statement, params, Message.id, query_key)
    return page, await message_reads(session, page.items)


async def read_page(
    session: AsyncSession, statement: Select[Message], params: PageParams
) -> tuple[Page[Message], list[MessageRead]]:
    page = await paginate(session, statement, params, Message.id)
    return page, await message_reads(session, page.items)


async def message_reads(session: AsyncSession, messages: Sequence[Message]) -> list[MessageRead]:
    repository = MessageRepository(session)
    brands, agents = await repository.names(
        (m.brand_id for m in messages), (m.agent_id for m in messages)
    )
    bundles = await repository.bundle_contents(m.bundle_id or "" for m in messages)
    return [
        message_read(m, brands[m.brand_id], agents[m.agent_id], content_of(m, bundles))
        for m in messages
    ]


def content_of(message: Message, bundles: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    if message.content is not None:
        return message.content
    if message.bundle_id and message.bundle_id in bundles:
        return filled_content(bundles[message.bundle_id], message.variables)
    return {}


def message_read(
    message: Message | _Row,
    brand: str,
    agent: str,
    content: Mapping[str, Any],
    events: list[EventRead] | None = None,
    *,
    validated: MessageContent | None = None,
) -> MessageRead:
    model = validated
    if model is None and content:
        model = MessageContent.model_validate(content)
    return MessageRead(
        id=message.id,
        conversation_id=message.conversation_id,
        bundle_id=message.bundle_id,
        brand=brand,
        agent=agent,
        recipient=message.recipient,
        direction=message.direction,
        type=message.type,
        content=model.content if model else None,
        card=card_view(model.card) if model and model.card else None,
        cards=[card_view(card) for card in model.cards] if model and model.cards else None,
        width=content.get("width"),
        media=content.get("media"),
        suggestions=_suggestions(model),
        postback_data=message.postback_data,
        status=message.status,
        status_reason=message.status_reason,
        channel=message.channel,
        price=float(message.price),
        currency=message.currency,
        segments=message.segments,
        reference=message.reference,
        created=message.created_at,
        modified=message.modified_at,
        send_at=message.send_at,
        expires=message.expires_at,
        events=events,
    )


def _suggestions(model: MessageContent | None) -> list[dict[str, Any]] | None:
    if model is None or not model.suggestions:
        return None
    return [suggestion_view(suggestion) for suggestion in model.suggestions]


async def _find(session: AsyncSession, account_id: str, message_id: str) -> Message:
    message = await MessageRepository(session).get(account_id, message_id)
    if message is None:
        raise NotFound(f"No message {message_id}")
    return message


def journey(message: Message | _Row, events: Sequence[MessageEvent]) -> list[EventRead]:
    """The creation step, then every recorded event in order."""
    if message.direction == "Inbound":
        status, channel = "Received", message.channel
    else:
        # Every outbound message is accepted for RCS; SMS is a later routing decision.
        status, channel = ("Scheduled" if message.send_at else "Queued"), "RCS"
    first = EventRead(status=status, channel=channel, at=message.created_at)
    return [first, *(EventRead.model_validate(event) for event in events)]


async def get_message(session: AsyncSession, account_id: str, message_id: str) -> MessageRead:
    message = await _find(session, account_id, message_id)
    return await full_read(session, message)


async def full_read(session: AsyncSession, message: Message) -> MessageRead:
    events = await MessageRepository(session).events(message.id)
    read = (await message_reads(session, [message]))[0]
    return read.model_copy(update={"events": journey(message, events)})


async def message_cards(session: AsyncSession, account_id: str, message_id: str) -> list[CardRead]:
    message = await _find(session, account_id, message_id)
    read = (await message_reads(session, [message]))[0]
    cards = read.cards or ([read.card] if read.card else [])
    return [
        CardRead.model_validate(
            {
                **card,
                "id": sub_id(message.id, "card", order),
                "messageId": message.id,
                "order": order,
                "width": card.get("width", read.width),
            }
        )
        for order, card in enumerate(cards)
    ]


async def message_suggestions(
    session: AsyncSession, account_id: str, message_id: str
) -> list[SuggestionRead]:
    message = await _find(session, account_id, message_id)
    read = (await message_reads(session, [message]))[0]
    return [
        SuggestionRead.model_validate(
            {
                **chip,
                "id": sub_id(message.id, "suggestion", order),
                "messageId": message.id,
                "order": order,
            }
        )
        for order, chip in enumerate(read.suggestions or [])
    ]


def sub_id(message_id: str, kind: str, order: int) -> str:
    """A stable opaque id for a card or suggestion of a message."""
    return hashlib.sha256(f"{message_id}:{kind}:{order}".encode()).hexdigest()[:24]


async def revoke_message(
    session: AsyncSession, clock: Clock, account_id: str, message_id: str
) -> MessageRead:
    """Queue a revoke; the pipeline ends the message Revoked, or RevokeFailed if delivered."""
    message = await _find(session, account_id, message_id)
    if message.direction != "Outbound" or message.status in FINAL_STATUSES:
        raise MessageNotRevocable(f"Message {message_id} is {message.status}")
    enqueue(session, clock, "revoke_message", {"messageId": message.id})
    await session.flush()
    return await full_read(session, message)


async def sender_of(session: AsyncSession, brand_id: str, agent_id: str) -> Sender:
    """The sender of an existing conversation; its agent must still be launched."""
    cache, key = senders(session), by_ids(brand_id, agent_id)
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    brand, agent = await MessageRepository(session).sender(brand_id, agent_id)
    if agent.status != "Launched" or agent.deleted_at is not None:
        raise AgentNotLaunched(f"Agent {agent.agent_name!r} is not launched")
    sender = Sender.of(brand, agent)
    if cache is not None:
        cache.put(key, sender)
    return sender


async def names(
    session: AsyncSession, brand_ids: Iterable[str], agent_ids: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    return await MessageRepository(session).names(brand_ids, agent_ids)


async def sender_ids(
    session: AsyncSession, account_id: str, brand: str | None, agent: str | None
) -> tuple[list[str] | None, list[str] | None]:
    """Ids matching a `brand` / `agent` filter by name or display name (any case)."""
    repository = MessageRepository(session)
    brand_ids = await repository.brand_ids(account_id, brand) if brand is not None else None
    agent_ids = await repository.agent_ids(account_id, agent) if agent is not None else None
    return brand_ids, agent_ids
