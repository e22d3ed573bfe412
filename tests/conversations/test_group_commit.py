"""Starts that arrive together share one transaction (conversations/committer.py), and a
start that cannot be written fails alone."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text

from rcsgate.context import AppContext
from rcsgate.conversations import service
from rcsgate.conversations.schemas import ConversationCreate
from rcsgate.errors import AlreadyExists
from rcsgate.kit.ids import new_id
from rcsgate.messages.schemas import MessageRead
from rcsgate.messages.service import Pricing
from rcsgate.models import Agent, Conversation, Job, Message
from tests.conftest import Tenant
from tests.fixtures.database import backend, commits
from tests.fixtures.ip1 import E6_CONVERSATION
from tests.fixtures.messaging import Sender, count_rows

STARTS = 12


async def start_all(api: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(api.post("/v3/conversations", json=b) for b in bodies)))


async def start_grouped(context: AppContext, account_id: str, data: dict[str, Any]) -> MessageRead:
    async with context.sessionmaker() as session:
        return await service.start_conversation(
            session,
            context.clock,
            Pricing(Decimal("0.45"), "SEK"),
            account_id,
            ConversationCreate.model_validate(data),
            context.conversation_starts,
            platform_sender=context.settings.sms_sender,
        )


def body(recipient: int, **fields: object) -> dict[str, Any]:
    return {**E6_CONVERSATION, "recipient": str(recipient), **fields}


class TestGroupCommit:
    async def test_concurrent_starts_share_transactions_and_are_all_stored(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        await start_all(api, [body(46700300000)])  # the sender is read and cached first
        with commits(context.engine) as seen:
            responses = await start_all(api, [body(46700300001 + n) for n in range(STARTS)])

        assert [r.status_code for r in responses] == [201] * STARTS
        assert len(seen) < STARTS
        ids = [r.json()["id"] for r in responses]
        async with context.sessionmaker() as session:
            stored = set(await session.scalars(select(Message.id).where(Message.id.in_(ids))))
            jobs = await session.scalars(select(Job.payload).where(Job.kind == "send_message"))
            queued = {job["messageId"] for job in jobs}
        assert stored == set(ids)
        assert queued >= set(ids)

    async def test_a_taken_unique_id_fails_only_its_own_start(
        self, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        # Through the API a start with a uniqueId takes the idempotent path (its uniqueId is
        # its key); the committer still keeps a unique index's refusal to the start it hits.
        bodies = [body(46700310000 + n) for n in range(STARTS)]
        bodies[3]["uniqueId"] = bodies[7]["uniqueId"] = "same-unique-id"

        results = await asyncio.gather(
            *(start_grouped(context, tenant.account_id, b) for b in bodies), return_exceptions=True
        )

        failed = [n for n, result in enumerate(results) if isinstance(result, BaseException)]
        assert len(failed) == 1
        assert failed[0] in (3, 7)
        assert isinstance(results[failed[0]], AlreadyExists)
        assert await count_rows(context, Conversation) == STARTS - 1
        assert await count_rows(context, Message) == STARTS - 1

    async def test_two_starts_to_one_recipient_leave_one_conversation_open(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        bodies = [body(46700320000 + n % 3) for n in range(STARTS)]

        responses = await start_all(api, bodies)

        assert [r.status_code for r in responses] == [201] * STARTS
        assert await count_rows(context, Conversation) == STARTS
        assert await count_rows(context, Conversation, status="Open") == 3

    async def test_an_idempotent_start_is_replayed_not_doubled(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        headers = {"Idempotency-Key": "start-1"}
        first = await api.post("/v3/conversations", json=body(46700330000), headers=headers)
        again = await api.post("/v3/conversations", json=body(46700330000), headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert await count_rows(context, Message) == 1


@pytest.mark.skipif(backend() != "postgres", reason="concurrent writers: PostgreSQL")
class TestConcurrentWriters:
    async def test_a_start_racing_another_writer_for_its_pair_closes_what_that_one_opened(
        self, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        """Another writer (a second process, a batch in flight) opens a conversation for the
        same agent and recipient and has not committed yet: the batch waits on the one-open
        index, fails once the other commits, and its start is retried alone, closing it."""
        recipient = 46700350000
        async with context.engine.connect() as other:
            await other.execute(
                insert(Conversation),
                [{**(await _open_row(context, tenant.account_id)), "recipient": str(recipient)}],
            )  # uncommitted: holds the pair in the one-open index
            racing = asyncio.create_task(start_grouped(context, tenant.account_id, body(recipient)))
            await _waiting_on_a_lock(context)
            await other.commit()
        read = await racing

        async with context.sessionmaker() as session:
            open_ = list(
                await session.scalars(
                    select(Conversation.id).where(
                        Conversation.recipient == str(recipient), Conversation.status == "Open"
                    )
                )
            )
        assert open_ == [read.conversation_id]
        assert await count_rows(context, Conversation) == 2


async def _open_row(context: AppContext, account_id: str) -> dict[str, Any]:
    """An open conversation's row for the tenant's launched agent, as another writer's."""
    async with context.sessionmaker() as session:
        agent = await session.scalar(select(Agent).where(Agent.account_id == account_id))
    assert agent is not None
    now = context.clock.now()
    return {
        "id": new_id(),
        "account_id": account_id,
        "brand_id": agent.brand_id,
        "agent_id": agent.id,
        "status": "Open",
        "started_by": "Business",
        "message_count": 0,
        "created_at": now,
        "last_activity_at": now,
    }


async def _waiting_on_a_lock(context: AppContext) -> None:
    """Returns once some backend of this database waits for a lock (the racing batch)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with context.engine.connect() as connection:
        for _ in range(500):
            if await connection.scalar(query):
                return
            await asyncio.sleep(0.01)
    raise AssertionError("no writer ever waited on the open conversation's index entry")
