"""Group commit for starting conversations: starts that arrive together share one write.

A request validates and reads outside any write transaction, builds its rows as plain dicts
(`NewConversation`), hands them to the process's `StartCommitter` and answers 201 only once
the write that holds them committed: a 201 still means stored.

A batch closes every open conversation of its agent-and-recipient pairs, inserts the new
conversations, their first messages and send jobs, and queues the conversation.closed and
conversation.started webhooks, in one transaction. On PostgreSQL the close and the three
INSERTs are one statement (`_OneStatement`): on a busy event loop every round trip of a batch
waits its turn behind the requests being served, and the batch's latency is what a
closed-loop client's rate is made of. Elsewhere (SQLite, and a start under an
Idempotency-Key, whose answer commits in the request's session) `write_starts` runs the same
steps as Core statements.

Several batches may be in flight. One open conversation per agent and recipient is kept by
the database (`uq_conversations_one_open`): a batch that loses that race to a concurrent one
fails, and kit.batching retries its starts one by one, each closing what the other opened.
Any other failure of a batch (a uniqueId taken, a lost connection) takes the same path, so one
bad start fails only its own request.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rcsgate.conversations.repository import ConversationRepository
from rcsgate.kit.batching import GroupCommit, TransactionGroupCommit, writers_in_flight
from rcsgate.kit.clock import Clock
from rcsgate.kit.pgbulk import JsonRowsInsert
from rcsgate.models import Conversation, Job, Message
from rcsgate.webhooks import emit as webhooks

CONVERSATIONS = cast(Table, Conversation.__table__)
MESSAGES = cast(Table, Message.__table__)
JOBS = cast(Table, Job.__table__)
MAX_BATCH = 256


class SameRecipientInBatch(Exception):
    """Two starts for one agent and recipient: the later must close the earlier, so they are
    written one after another (the one-by-one fallback) rather than side by side."""


@dataclass(frozen=True, slots=True)
class NewConversation:
    """One start as rows: the conversation, its first message and that message's send job."""

    conversation: dict[str, Any]
    message: dict[str, Any]
    job: dict[str, Any]

    @property
    def pair(self) -> tuple[str, str]:
        return (self.conversation["agent_id"], self.conversation["recipient"])


def _distinct_pairs(starts: list[NewConversation]) -> list[tuple[str, str]]:
    pairs = [start.pair for start in starts]
    if len(set(pairs)) != len(pairs):
        raise SameRecipientInBatch
    return pairs


async def write_starts(
    session: AsyncSession, starts: list[NewConversation], *, clock: Clock
) -> None:
    """The statements of `starts`, in the caller's transaction: a constant number whatever
    the number of starts (the close, three INSERTs, the webhook events)."""
    pairs = _distinct_pairs(starts)
    closed = await ConversationRepository(session).close_open_pairs(pairs, clock.now())
    await session.execute(insert(CONVERSATIONS), [start.conversation for start in starts])
    await session.execute(insert(MESSAGES), [start.message for start in starts])
    await session.execute(insert(JOBS), [start.job for start in starts])
    await _emit(session, closed, starts)


async def _emit(session: AsyncSession, closed: list[str], starts: list[NewConversation]) -> None:
    await webhooks.conversations(session, closed, "conversation.closed")
    started = [start.conversation["id"] for start in starts]
    await webhooks.conversations(session, started, "conversation.started")


class _OneStatement:
    """The PostgreSQL batch: the close and three INSERTs as one statement, then the webhook
    events (usually one SELECT that finds no URL), in one transaction.

    Parameters: $1 the time, $2/$3 the pairs' agents and recipients, $4-$6 the three tables'
    rows. The close finds each pair's open conversation through the one-open index, whatever
    the planner's statistics say (a scalar subquery per pair is never turned into a join);
    each INSERT waits for it (its `closed` subquery is evaluated first), so a new open
    conversation never meets the one it replaces. The text depends only on the rows'
    columns: built once, prepared once per connection."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._texts: dict[tuple[tuple[str, ...], ...], str] = {}

    async def __call__(self, starts: list[NewConversation]) -> None:
        pairs = _distinct_pairs(starts)
        args = (
            self._clock.now(),
            [agent for agent, _ in pairs],
            [recipient for _, recipient in pairs],
            JsonRowsInsert.encode([start.conversation for start in starts]),
            JsonRowsInsert.encode([start.message for start in starts]),
            JsonRowsInsert.encode([start.job for start in starts]),
        )
        async with self._sessionmaker.begin() as session:
            connection = await session.connection()
            result = await connection.exec_driver_sql(self._text(starts[0]), args)
            closed, agents_with_url = tuple(result.one())
            if closed or agents_with_url or any(_own_url(start) for start in starts):
                await _emit(session, list(closed), starts)

    def _text(self, start: NewConversation) -> str:
        shape = (tuple(start.conversation), tuple(start.message), tuple(start.job))
        if shape not in self._texts:
            self._texts[shape] = _statement(shape)
        return self._texts[shape]


def _own_url(start: NewConversation) -> bool:
    return start.conversation["delivery_report_url"] is not None


def _statement(shape: tuple[tuple[str, ...], ...]) -> str:
    tables = (CONVERSATIONS, MESSAGES, JOBS)
    after_close = "WHERE (SELECT count(*) FROM closed) >= 0"
    conversations, messages, jobs = (
        f"{JsonRowsInsert(table, keys, number).sql} {after_close}"
        for table, keys, number in zip(tables, shape, (4, 5, 6), strict=True)
    )
    return (
        "WITH closed AS (UPDATE conversations SET status = 'Closed', closed_at = $1 "  # noqa: S608
        "WHERE id = ANY (ARRAY(SELECT (SELECT id FROM conversations AS o "
        "WHERE o.agent_id = p.agent_id AND o.recipient = p.recipient AND o.status = 'Open') "
        "FROM unnest($2::varchar[], $3::varchar[]) AS p(agent_id, recipient))) "
        "RETURNING id), "
        f"c AS ({conversations}), m AS ({messages}), j AS ({jobs}) "
        # The closed ids, and whether an agent of the batch or its account has a webhook
        # URL: without one, and without a URL of their own, no conversation.started event.
        "SELECT (SELECT coalesce(array_agg(id), '{}') FROM closed), EXISTS (SELECT 1 "
        "FROM agents AS a JOIN accounts AS t ON t.id = a.account_id WHERE a.id = ANY($2) "
        "AND coalesce(a.delivery_report_url, t.delivery_report_url) IS NOT NULL)"
    )


class StartCommitter:
    """The process's committer of conversation starts (one per AppContext)."""

    def __init__(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
    ) -> None:
        self._group: GroupCommit[NewConversation]
        if engine.dialect.name == "postgresql":
            self._group = GroupCommit(
                _OneStatement(sessionmaker, clock),
                MAX_BATCH,
                in_flight=writers_in_flight(engine.dialect.name),
            )
        else:
            write = partial(write_starts, clock=clock)
            self._group = TransactionGroupCommit(sessionmaker, write, MAX_BATCH)

    async def commit(self, start: NewConversation) -> None:
        """Returns once `start` is committed; raises what its own one-by-one write raised."""
        await self._group.submit(start)
