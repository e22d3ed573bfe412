"""Webhook events, written in the caller's transaction (API.md 2.8).

Every function here is called by the code that makes the change it reports, with that
change's session: the event commits with the change or not at all, so a committed change is
always delivered (at least once) and a rolled-back one never is. Nothing is sent from here;
`webhooks.delivery` sends what these rows describe.

Each call costs a constant number of statements whatever the number of messages: one SELECT
of what the events need (the target URL resolved in SQL: the request's deliveryReportUrl,
else the agent's, else the account's), then, only for events that have a URL, one INSERT of
the endpoints not yet known and one of the deliveries. `message_status` is on the hot path of
every dispatch batch and receipt, so it reads nothing per message.

This module imports only `kit` and `models` (an import-linter contract), so every domain
package can call it without a cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import String, Table, func, literal_column, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from rcsgate.kit.clock import isoformat_z
from rcsgate.kit.db import insert_ignoring_conflicts
from rcsgate.kit.ids import new_id
from rcsgate.models import (
    Account,
    Agent,
    AgentOperator,
    Brand,
    Conversation,
    Message,
    WebhookDelivery,
    WebhookEndpoint,
)

# A delivery that got no 2xx within this long after its event is Failed (API.md 2.8).
GIVE_UP_AFTER = timedelta(days=3)
PENDING = "Pending"
# The doorbell of the webhook senders (kit.wakeup): rung at each commit that queued deliveries.
CHANNEL = "rcsgate_webhooks"
USER_EVENTS = {
    "typing": "user.typing",
    "subscribe": "user.subscribed",
    "unsubscribe": "user.unsubscribed",
}
ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)
MESSAGES = cast(Table, Message.__table__)


def endpoint_id(account_id: str, url: str) -> str:
    """The queue of one account's URL. Derived, not looked up, so emitting needs no read;
    per account, so two accounts naming the same URL never wait on each other."""
    return hashlib.sha256(f"{account_id}\n{url}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Event:
    account_id: str
    url: str
    type: str
    data: dict[str, Any]
    at: datetime
    order_key: str  # events with the same key are delivered one after another, in order
    message_id: str | None = None
    sequence: int | None = None


async def store(session: AsyncSession, events: Sequence[Event]) -> None:
    """Queue `events`: two statements, however many. A message.status whose (message,
    sequence) is already queued is skipped, so emitting for a message that did not move is
    harmless."""
    if not events:
        return
    dialect = session.get_bind().dialect
    endpoints = {
        endpoint_id(e.account_id, e.url): {
            "id": endpoint_id(e.account_id, e.url),
            "account_id": e.account_id,
            "url": e.url,
            "failures": 0,
            "created_at": e.at,
        }
        for e in events
    }
    await session.execute(
        insert_ignoring_conflicts(dialect, ENDPOINTS, ["id"]), list(endpoints.values())
    )
    await session.execute(
        insert_ignoring_conflicts(dialect, DELIVERIES, ["message_id", "sequence"]),
        [_delivery_row(e) for e in events],
    )


def _delivery_row(event: Event) -> dict[str, Any]:
    return {
        "id": new_id(),
        "account_id": event.account_id,
        "endpoint_id": endpoint_id(event.account_id, event.url),
        "type": event.type,
        "message_id": event.message_id,
        "sequence": event.sequence,
        "order_key": event.order_key,
        "data": event.data,
        "status": PENDING,
        "attempts": 0,
        "created_at": event.at,
        "give_up_at": event.at + GIVE_UP_AFTER,
    }


def _first_url(*columns: Any) -> ColumnElement[str]:
    return func.coalesce(*columns)


# message.status


class StatusRow(NamedTuple):
    """What a message.status event says, as the message's row stands after one move."""

    id: str
    account_id: str
    bundle_id: str | None
    conversation_id: str | None
    recipient: str
    status: str
    channel: str
    operator: str | None
    status_reason: str | None
    price: Decimal
    currency: str
    reference: str | None
    sequence: int
    modified_at: datetime
    url: str | None


STATUS_COLUMNS = tuple(getattr(MESSAGES.c, name) for name in StatusRow._fields[:-1])
# The target URL as an UPDATE of `messages` can return it. Text, not a select: SQLAlchemy
# drops the table names inside a RETURNING on SQLite, which would make the subqueries compare
# agents.id with itself. Constant SQL, never input.
STATUS_URL_RETURNED = literal_column(
    "coalesce(messages.delivery_report_url,"
    " (SELECT agents.delivery_report_url FROM agents WHERE agents.id = messages.agent_id),"
    " (SELECT accounts.delivery_report_url FROM accounts WHERE accounts.id = messages.account_id))",
    String,
)


async def message_status(session: AsyncSession, message_ids: Sequence[str], status: str) -> None:
    """message.status for each of `message_ids` that is now in `status`, as its row stands
    (the caller has just moved them). Rows that did not move in this transaction carry a
    sequence that is already queued, and are skipped by `store`."""
    if not message_ids:
        return
    url = _first_url(
        Message.delivery_report_url, Agent.delivery_report_url, Account.delivery_report_url
    )
    rows = await session.execute(
        select(*STATUS_COLUMNS, url)
        .join(Agent, Agent.id == MESSAGES.c.agent_id)
        .join(Account, Account.id == MESSAGES.c.account_id)
        .where(
            MESSAGES.c.id.in_(list(message_ids)),
            MESSAGES.c.status == status,
            MESSAGES.c.sequence > 0,
            url.is_not(None),
        )
    )
    await message_status_rows(session, [StatusRow._make(row) for row in rows])


async def message_status_rows(session: AsyncSession, rows: Sequence[StatusRow]) -> None:
    """message.status for each of `rows`, which the caller has read or returned from its
    UPDATE; those with no URL have no event."""
    await store(session, [_status_event(row) for row in rows if row.url is not None])


def _status_event(row: StatusRow) -> Event:
    data = {
        "messageId": row.id,
        "bundleId": row.bundle_id,
        "conversationId": row.conversation_id,
        "recipient": row.recipient,
        "status": row.status,
        "channel": row.channel,
        "operator": row.operator,
        "reason": row.status_reason,
        "price": float(row.price),
        "currency": row.currency,
        "reference": row.reference,
        "sequence": row.sequence,
    }
    assert row.url is not None
    return Event(
        row.account_id,
        row.url,
        "message.status",
        data,
        row.modified_at,
        row.id,
        row.id,
        row.sequence,
    )


# message.inbound


async def message_inbound(session: AsyncSession, message_id: str) -> None:
    """message.inbound for a user's message just stored: text, media, location, or a tapped
    suggestion (`postbackData` and the chip's `text`)."""
    url = _first_url(
        Conversation.delivery_report_url, Agent.delivery_report_url, Account.delivery_report_url
    )
    row = (
        await session.execute(
            select(Message, Brand.brand_name, Agent.agent_name, url)
            .join(Agent, Agent.id == Message.agent_id)
            .join(Brand, Brand.id == Message.brand_id)
            .join(Account, Account.id == Message.account_id)
            .outerjoin(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id, url.is_not(None))
        )
    ).first()
    if row is None:
        return
    message, brand, agent, target = row
    content = message.content or {}
    data = {
        "messageId": message.id,
        "conversationId": message.conversation_id,
        "brand": brand,
        "agent": agent,
        "recipient": message.recipient,
        "type": message.type,
        "text": content.get("content"),
        "postbackData": message.postback_data,
        "media": content.get("media"),
        "location": content.get("location"),
        "channel": message.channel,
        "operator": message.operator,
    }
    key = message.conversation_id or message.id
    event = Event(
        message.account_id, target, "message.inbound", data, message.created_at, key, message.id
    )
    await store(session, [event])


# conversation.started / conversation.closed


async def conversations(session: AsyncSession, conversation_ids: Sequence[str], type_: str) -> None:
    """`type_` (conversation.started or conversation.closed) for each conversation, as its row
    stands."""
    if not conversation_ids:
        return
    url = _first_url(
        Conversation.delivery_report_url, Agent.delivery_report_url, Account.delivery_report_url
    )
    rows = await session.execute(
        select(Conversation, Brand.brand_name, Agent.agent_name, url)
        .join(Agent, Agent.id == Conversation.agent_id)
        .join(Brand, Brand.id == Conversation.brand_id)
        .join(Account, Account.id == Conversation.account_id)
        .where(Conversation.id.in_(list(conversation_ids)), url.is_not(None))
        # Closing by UPDATE leaves loaded objects stale: read the rows as they stand.
        .execution_options(populate_existing=True)
    )
    events = []
    for conversation, brand, agent, target in rows:
        data = {
            "conversationId": conversation.id,
            "brand": brand,
            "agent": agent,
            "recipient": conversation.recipient,
            "status": conversation.status,
            "startedBy": conversation.started_by,
            "uniqueId": conversation.unique_id,
            "reference": conversation.reference,
            "started": isoformat_z(conversation.created_at),
            "closed": isoformat_z(conversation.closed_at) if conversation.closed_at else None,
        }
        at = conversation.closed_at if type_ == "conversation.closed" else None
        events.append(
            Event(
                conversation.account_id,
                target,
                type_,
                data,
                at or conversation.last_activity_at,
                conversation.id,
            )
        )
    await store(session, events)


# user.typing / user.subscribed / user.unsubscribed


async def user_event(
    session: AsyncSession,
    kind: str,
    agent_id: str | None,
    msisdn: str,
    at: datetime,
    operator: str,
) -> None:
    """A user's typing indicator, subscribe or unsubscribe, sent to the URL of the user's
    open conversation with the agent, else the agent's, else the account's."""
    type_ = USER_EVENTS.get(kind)
    if type_ is None or agent_id is None:
        return
    open_conversation = (
        select(Conversation.id, Conversation.delivery_report_url)
        .where(
            Conversation.agent_id == agent_id,
            Conversation.recipient == msisdn,
            Conversation.status == "Open",
        )
        .subquery()
    )
    url = _first_url(
        open_conversation.c.delivery_report_url,
        Agent.delivery_report_url,
        Account.delivery_report_url,
    )
    row = (
        await session.execute(
            select(
                Agent.account_id, Brand.brand_name, Agent.agent_name, open_conversation.c.id, url
            )
            .join(Brand, Brand.id == Agent.brand_id)
            .join(Account, Account.id == Agent.account_id)
            .outerjoin(open_conversation, true())  # at most one is open
            .where(Agent.id == agent_id, url.is_not(None))
        )
    ).first()
    if row is None:
        return
    account, brand, agent, conversation_id, target = row
    data = {
        "brand": brand,
        "agent": agent,
        "recipient": msisdn,
        "conversationId": conversation_id,
        "operator": operator,
    }
    await store(session, [Event(account, target, type_, data, at, conversation_id or msisdn)])


# agent.status


async def agent_status(session: AsyncSession, agent_id: str, at: datetime) -> None:
    """agent.status: the agent's status and its state at each operator, as they stand."""
    url = _first_url(Agent.delivery_report_url, Account.delivery_report_url)
    row = (
        await session.execute(
            select(Agent.account_id, Brand.brand_name, Agent.agent_name, Agent.status, url)
            .join(Brand, Brand.id == Agent.brand_id)
            .join(Account, Account.id == Agent.account_id)
            .where(Agent.id == agent_id, url.is_not(None))
        )
    ).first()
    if row is None:
        return
    account, brand, agent, status, target = row
    operators = await session.execute(
        select(AgentOperator.operator, AgentOperator.status)
        .where(AgentOperator.agent_id == agent_id)
        .order_by(AgentOperator.operator)
    )
    data = {
        "brand": brand,
        "agent": agent,
        "status": status,
        "operators": [{"operator": o, "status": s} for o, s in operators],
    }
    await store(session, [Event(account, target, "agent.status", data, at, agent_id)])
