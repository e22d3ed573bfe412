"""What operators tell us: receipts move outbound messages through the state machine; user
messages, taps, locations and files become inbound messages of the agent's open conversation
(one is opened when none is).

An operator's callback acts only on what went through that operator: a receipt moves a message
only if the message was sent through the callback's operator (else it is logged and ignored),
and a user message or event counts only for an agent launched at that operator. An SMS reply
names no agent: it goes to the account that sent an SMS from the number it answers to its
sender (`sms_replies`), or, when no single account did, into `unroutable_inbound`.

Receipts can beat the submit's answer. An RCS receipt names our own message id; it matches
once the Sent step has recorded the operator. An SMS receipt names the SMSC's id, which is
stored only once the submit returns. An unmatched receipt is kept as a `match_receipt` job and
tried again shortly, a few times, before it is dropped.

User messages are stored once: by the operator's message id when it gives one, else (SMPP MO)
by the fingerprint the connector puts in `extra`, within a duplicate window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import CursorResult, Result, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.connectors.base import InboundEvent, InboundKind, ReceiptStatus
from rcsgate.dispatch import sms_replies
from rcsgate.dispatch.jobs import enqueue
from rcsgate.dispatch.relay import DONE, ClaimedJob, Dead, Outcome, Retry
from rcsgate.kit.batching import GroupCommit
from rcsgate.kit.clock import Clock
from rcsgate.kit.db import insert_ignoring_conflicts
from rcsgate.kit.ids import new_id
from rcsgate.messages.state import Step, advances, record_locked
from rcsgate.models import (
    Account,
    Agent,
    AgentOperator,
    Conversation,
    InboundFingerprint,
    Message,
    MessageRef,
    UnroutableInbound,
    UnroutableReason,
)
from rcsgate.webhooks import emit as webhooks

log = structlog.get_logger(__name__)
MATCH_TRIES = 5
DUPLICATE_WINDOW = timedelta(minutes=10)
FINGERPRINTS: Table = InboundFingerprint.__table__  # type: ignore[assignment]
UNROUTABLE = Counter(
    "rcsgate_inbound_unroutable_total",
    "User messages no single account may have, kept in unroutable_inbound",
    ["operator", "reason"],
)
USER_MESSAGES = frozenset(
    {InboundKind.TEXT, InboundKind.SUGGESTION, InboundKind.LOCATION, InboundKind.FILE}
)


@dataclass
class Receipts:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    duplicate_window: timedelta = DUPLICATE_WINDOW

    _commits: GroupCommit[Sequence[InboundEvent]] = field(init=False)

    def __post_init__(self) -> None:
        self._commits = GroupCommit(self._write)

    async def handle(self, events: Sequence[InboundEvent]) -> None:
        """Apply one callback's events; returns once they are committed (together with those
        of callbacks arriving meanwhile), so the operator's retry covers any failure."""
        await self._commits.submit(events)

    async def _write(self, callbacks: list[Sequence[InboundEvent]]) -> None:
        events = [event for group in callbacks for event in group]
        receipts = [event for event in events if event.kind is InboundKind.STATUS]
        async with self.sessionmaker.begin() as session:
            matched = await apply_statuses(session, receipts)
            for event, found in zip(receipts, matched, strict=True):
                if not found:
                    enqueue(session, self.clock, "match_receipt", _payload(event))
            for event in events:
                if event.kind in USER_MESSAGES:
                    await store_inbound(session, self.clock, event, self.duplicate_window)
                elif event.kind is not InboundKind.STATUS:  # typing, subscribe, unsubscribe
                    await _user_event(session, event)

    async def sink(self, event: InboundEvent) -> None:
        await self.handle([event])

    def _soon(self, attempt: int) -> datetime:
        """The submit that will store the ref is usually committing right now: try again at
        once, then after 1, 2, 4... seconds."""
        return self.clock.now() + timedelta(seconds=2 ** (attempt - 1))

    async def match(self, jobs: Sequence[ClaimedJob]) -> list[Outcome]:
        """Receipts that arrived before their SMS submit returned, tried again."""
        outcomes: list[Outcome] = []
        async with self.sessionmaker.begin() as session:
            matched = await apply_statuses(session, [_event(job.payload) for job in jobs])
            for job, found in zip(jobs, matched, strict=True):
                if found:
                    outcomes.append(DONE)
                elif job.attempts >= MATCH_TRIES:
                    outcomes.append(Dead("no message has this operator id"))
                else:
                    outcomes.append(Retry(self._soon(job.attempts), "not matched yet"))
        return outcomes


async def apply_statuses(session: AsyncSession, events: Sequence[InboundEvent]) -> list[bool]:
    """Record receipts on their messages, a few statements for the whole batch; for each
    receipt, whether it is settled: applied, or ignored because the message it names went out
    through another operator (false: no message has its id yet). A repeat of a status the
    message already has (operators deliver callbacks at least once) is dropped rather than
    written into the journey again."""
    targets, foreign = await _receipt_targets(session, events)
    read = {message_id: status for message_id, _, status in targets.values()}
    current = dict(read)
    steps: list[Step] = []
    for event in events:
        target = targets.get((event.operator, event.ref))
        assert event.status is not None
        if target is None or current[target[0]] == event.status.value:
            continue
        message_id, channel, _ = target
        if advances(current[message_id], event.status.value):
            current[message_id] = event.status.value
        reason = event.reason
        if reason is None and event.status is ReceiptStatus.EXPIRED:
            reason = "expired at the operator"
        steps.append(
            Step(message_id, event.status.value, channel, event.at, event.operator, reason)
        )
    await record_locked(session, read, steps)
    for operator, ref in foreign:
        log.warning("operator.receipt_foreign", operator=operator, message=ref)
    settled = targets.keys() | foreign
    return [(event.operator, event.ref) in settled for event in events]


_Key = tuple[str, str | None]  # (operator, ref) as a receipt names its message


async def _receipt_targets(
    session: AsyncSession, events: Sequence[InboundEvent]
) -> tuple[dict[_Key, tuple[str, str, str]], set[_Key]]:
    """(message id, channel of the receipt, current status) by the (operator, ref) a receipt
    names: an SMSC's id through `message_refs` (SMS), else our own message id (RCS) when the
    message went out through that same operator. Second, the receipts naming an RCS message
    that went out through another operator: one operator cannot move another's messages. A
    message whose Sent step is not written yet has no operator (an RCS receipt often beats the
    submit's answer): its receipt counts when the message's agent is launched at that operator,
    the only operators dispatch can have sent it through. The messages are locked in id order,
    the order dispatch locks them in, so the two never wait on each other in a cycle."""
    refs = sorted({event.ref for event in events if event.ref is not None})
    if not refs:
        return {}, set()
    by_ref = await _by_operator_ref(session, events)
    ids = sorted({*refs, *(message_id for _, _, message_id in by_ref)})
    found = {
        message_id: (status, operator, agent_id)
        for message_id, status, operator, agent_id in await session.execute(
            select(Message.id, Message.status, Message.operator, Message.agent_id)
            .where(Message.id.in_(ids), Message.direction == "Outbound")
            .order_by(Message.id)
            .with_for_update()
        )
    }
    unsent = {ref: row[2] for ref, row in found.items() if row[1] is None}
    launched = await _launched_at(
        session, {(e.operator, unsent[e.ref]) for e in events if e.ref in unsent}
    )
    targets: dict[_Key, tuple[str, str, str]] = {}
    for operator, ref, message_id in by_ref:
        if message_id in found:
            targets[(operator, ref)] = (message_id, "SMS", found[message_id][0])
    foreign: set[_Key] = set()
    for event in events:
        key = (event.operator, event.ref)
        if key in targets or event.ref not in found:
            continue
        status, sent_through, agent_id = found[event.ref]
        if sent_through is None and (event.operator, agent_id) in launched:
            sent_through = event.operator
        if sent_through == event.operator:
            targets[key] = (event.ref, "RCS", status)
        else:
            foreign.add(key)
    return targets, foreign


async def _by_operator_ref(
    session: AsyncSession, events: Sequence[InboundEvent]
) -> list[tuple[str, str, str]]:
    """(operator, ref, message id) of the receipts that may name an SMSC's id. Only the SMS
    operator's receipts do, and an SMSC names no agent; an RCS operator's receipt names the
    agent and our own message id, so a batch of those needs no look-up (one that names none
    is looked up all the same: it then simply finds nothing)."""
    refs = sorted({e.ref for e in events if e.ref is not None and e.agent is None})
    if not refs:
        return []
    found = await session.execute(
        select(MessageRef.operator, MessageRef.ref, MessageRef.message_id).where(
            MessageRef.ref.in_(refs)
        )
    )
    return [(operator, ref, message_id) for operator, ref, message_id in found]


async def _launched_at(session: AsyncSession, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these (operator, agent id) pairs, those where the agent is launched."""
    if not pairs:
        return set()
    rows = await session.execute(
        select(AgentOperator.operator, AgentOperator.agent_id).where(
            AgentOperator.agent_id.in_({agent_id for _, agent_id in pairs}),
            AgentOperator.status == "Launched",
        )
    )
    return {(operator, agent_id) for operator, agent_id in rows} & pairs


async def store_inbound(
    session: AsyncSession,
    clock: Clock,
    event: InboundEvent,
    duplicate_window: timedelta = DUPLICATE_WINDOW,
) -> str | None:
    """A user's message, stored once per operator message id (or, without one, once per
    fingerprint within `duplicate_window`); its id, or None if a repeat or unroutable."""
    if event.event_id and await _seen(session, event.operator, event.event_id):
        return None
    if not await _first_delivery(session, event, clock.now(), duplicate_window):
        log.info("operator.inbound_repeat", operator=event.operator, kind=event.kind)
        return None
    agent = await _agent_of(session, clock, event)
    if agent is None:
        return None
    now = clock.now()
    conversation = await _open_conversation(session, agent, event.msisdn, now)
    message_id = new_id()
    account = await session.get(Account, agent.account_id)
    currency = account.currency if account is not None else "SEK"
    session.add(_inbound_row(message_id, agent, conversation.id, event, now, currency))
    await session.flush()
    if event.event_id:
        session.add(MessageRef(operator=event.operator, ref=event.event_id, message_id=message_id))
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(message_count=Conversation.message_count + 1, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    await webhooks.message_inbound(session, message_id)
    return message_id


async def _seen(session: AsyncSession, operator: str, ref: str) -> bool:
    found = await session.execute(
        select(MessageRef.message_id).where(MessageRef.operator == operator, MessageRef.ref == ref)
    )
    return found.first() is not None


async def _user_event(session: AsyncSession, event: InboundEvent) -> None:
    log.info("operator.user_event", kind=event.kind, operator=event.operator)
    if event.agent and await _launched_agent(session, event) is not None:
        await webhooks.user_event(
            session, event.kind.value, event.agent, event.msisdn, event.at, event.operator
        )


async def _first_delivery(
    session: AsyncSession, event: InboundEvent, now: datetime, window: timedelta
) -> bool:
    """False when the operator already gave us this message (the same fingerprint) within
    `window`. An insert that skips a conflict, then a conditional update: atomic on both
    databases, and a concurrent transaction storing the same message waits for this one and
    then sees its row."""
    fingerprint = event.extra.get("fingerprint")
    if not fingerprint:
        return True
    connection = await session.connection()
    inserted = await session.execute(
        insert_ignoring_conflicts(connection.dialect, FINGERPRINTS, ["operator", "fingerprint"]),
        {"operator": event.operator, "fingerprint": str(fingerprint), "seen_at": now},
    )
    if _rowcount(inserted):
        return True
    renewed = await session.execute(
        update(InboundFingerprint)
        .where(
            InboundFingerprint.operator == event.operator,
            InboundFingerprint.fingerprint == str(fingerprint),
            InboundFingerprint.seen_at <= now - window,
        )
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(renewed) > 0


def _rowcount(result: Result[Any]) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


async def _agent_of(session: AsyncSession, clock: Clock, event: InboundEvent) -> Agent | None:
    if event.agent:
        return await _launched_agent(session, event)
    # SMS names no agent: the number it answers does, within the account that used it.
    to = str(event.extra.get("to") or "")
    found = await sms_replies.route(session, event.operator, to, event.msisdn)
    if found.agent_id is None:
        assert found.reason is not None
        _keep_unroutable(session, clock, event, to, found.reason, found.accounts)
        return None
    return await session.get(Agent, found.agent_id)


async def _launched_agent(session: AsyncSession, event: InboundEvent) -> Agent | None:
    """The agent an operator's callback names, if it is launched at that operator: an operator
    (or whoever holds its callback secret) cannot put messages into the conversations of an
    agent it does not carry."""
    agent = (
        await session.execute(
            select(Agent)
            .join(AgentOperator, AgentOperator.agent_id == Agent.id)
            .where(
                Agent.id == event.agent,
                AgentOperator.operator == event.operator,
                AgentOperator.status == "Launched",
            )
        )
    ).scalar_one_or_none()
    if agent is None:
        log.warning(
            "operator.inbound_agent_not_launched",
            operator=event.operator,
            agent=event.agent,
            kind=event.kind,
        )
    return agent


def _keep_unroutable(
    session: AsyncSession,
    clock: Clock,
    event: InboundEvent,
    to: str,
    reason: UnroutableReason,
    accounts: int,
) -> None:
    """Kept for operators (`rcsgate inbound unroutable`), logged and counted; never guessed
    into a conversation."""
    log.warning(
        "operator.inbound_unroutable",
        operator=event.operator,
        to=to,
        reason=reason.value,
        accounts=accounts,
    )
    UNROUTABLE.labels(event.operator, reason.value).inc()
    session.add(
        UnroutableInbound(
            operator=event.operator,
            msisdn=event.msisdn[:16],
            to=to[:20],
            text=event.text,
            reason=reason.value,
            accounts=accounts,
            received_at=clock.now(),
        )
    )


async def _open_conversation(
    session: AsyncSession, agent: Agent, msisdn: str, now: datetime
) -> Conversation:
    found = (
        await session.execute(
            select(Conversation).where(
                Conversation.agent_id == agent.id,
                Conversation.recipient == msisdn,
                Conversation.status == "Open",
            )
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    conversation = Conversation(
        account_id=agent.account_id,
        brand_id=agent.brand_id,
        agent_id=agent.id,
        recipient=msisdn,
        status="Open",
        started_by="User",
        message_count=0,
        created_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    await session.flush()
    await webhooks.conversations(session, [conversation.id], "conversation.started")
    return conversation


def _inbound_row(
    message_id: str,
    agent: Agent,
    conversation_id: str,
    event: InboundEvent,
    now: datetime,
    currency: str,
) -> Message:
    """An inbound message costs nothing; it carries the account's currency all the same."""
    content: dict[str, Any] = {"content": event.text} if event.text else {}
    if event.kind is InboundKind.LOCATION:
        content = {"location": {"latitude": event.latitude, "longitude": event.longitude}}
    elif event.kind is InboundKind.FILE:
        content = {"media": {"url": event.file_url, "mimeType": event.file_mime}}
    return Message(
        id=message_id,
        account_id=agent.account_id,
        brand_id=agent.brand_id,
        agent_id=agent.id,
        conversation_id=conversation_id,
        recipient=event.msisdn,
        direction="Inbound",
        type="Media" if event.kind is InboundKind.FILE else "Text",
        content=content,
        postback_data=event.postback_data,
        status="Received",
        channel="SMS" if event.operator.startswith("smpp") else "RCS",
        operator=event.operator,
        price=0,
        currency=currency,
        segments=1,
        created_at=now,
        modified_at=now,
    )


def _payload(event: InboundEvent) -> dict[str, Any]:
    data = asdict(event)
    data["at"] = event.at.isoformat()
    data["extra"] = dict(event.extra)
    return data


def _event(payload: dict[str, Any]) -> InboundEvent:
    data = dict(payload)
    data["at"] = datetime.fromisoformat(data["at"])
    data["kind"] = InboundKind(data["kind"])
    data["status"] = ReceiptStatus(data["status"]) if data.get("status") else None
    return InboundEvent(**data)


__all__ = ["Receipts", "apply_statuses", "store_inbound"]
