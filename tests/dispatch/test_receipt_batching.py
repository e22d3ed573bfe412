"""A group commit of receipts costs a constant number of statements, however many receipts and
statuses it carries: the lock, one UPDATE, one journal INSERT and the webhook INSERTs. Every
status change is still one journey step and one message.status event, in order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from rcsgate.connectors.base import InboundEvent, InboundKind, ReceiptStatus
from rcsgate.context import AppContext
from rcsgate.dispatch.receipts import apply_statuses
from rcsgate.kit.clock import FakeClock
from rcsgate.models import Message, WebhookDelivery
from tests.conftest import Tenant
from tests.dispatch.test_receipts import RECIPIENT, agent_id, journey, sent_through
from tests.fixtures.messaging import Sender
from tests.fixtures.webhooks import deliveries, set_account_url

# The message lock, the UPDATE ... RETURNING, the journal INSERT, the webhook endpoints and
# deliveries INSERTs.
STATEMENTS_PER_GROUP = 5


@contextmanager
def statements(context: AppContext) -> Iterator[list[str]]:
    """The SQL statements the engine runs meanwhile."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = context.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def rbm_receipt(
    message_id: str, agent: str, status: ReceiptStatus, clock: FakeClock
) -> InboundEvent:
    return InboundEvent(
        "rbm",
        InboundKind.STATUS,
        RECIPIENT,
        clock.now(),
        agent=agent,
        ref=message_id,
        status=status,
    )


async def status_events(context: AppContext, message_id: str) -> list[tuple[str, int | None]]:
    found: list[WebhookDelivery] = await deliveries(
        context, order_key=message_id, type="message.status"
    )
    return sorted((d.data["status"], d.sequence) for d in found)


async def test_a_group_of_receipts_costs_a_constant_number_of_statements(
    context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, tenant: Tenant
) -> None:
    await set_account_url(context, tenant.account_id, "https://hooks.example.com/rcs")
    agent = await agent_id(context, tenant)
    messages = [await sent_through(context, api, sender, "rbm") for _ in range(3)]
    clock.advance(1)
    delivered = [rbm_receipt(m, agent, ReceiptStatus.DELIVERED, clock) for m in messages]
    clock.advance(1)
    read = [rbm_receipt(m, agent, ReceiptStatus.READ, clock) for m in messages]

    with statements(context) as seen:
        await context.receipts.handle([*delivered, *read])

    assert len(seen) <= STATEMENTS_PER_GROUP, seen
    for message_id in messages:
        assert await journey(context, message_id) == [
            ("Sent", "rbm"),
            ("Delivered", "rbm"),
            ("Read", "rbm"),
        ]
        assert await status_events(context, message_id) == [
            ("Delivered", 2),
            ("Read", 3),
            ("Sent", 1),
        ]


async def test_receipts_out_of_order_in_one_group_move_through_each_status(
    context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, tenant: Tenant
) -> None:
    await set_account_url(context, tenant.account_id, "https://hooks.example.com/rcs")
    agent = await agent_id(context, tenant)
    message_id = await sent_through(context, api, sender, "rbm")
    clock.advance(1)
    read = rbm_receipt(message_id, agent, ReceiptStatus.READ, clock)
    delivered = rbm_receipt(message_id, agent, ReceiptStatus.DELIVERED, clock)

    await context.receipts.handle([read, delivered])

    assert await journey(context, message_id) == [
        ("Sent", "rbm"),
        ("Delivered", "rbm"),
        ("Read", "rbm"),
    ]
    assert await status_events(context, message_id) == [("Delivered", 2), ("Read", 3), ("Sent", 1)]


async def test_a_repeated_receipt_changes_nothing_and_writes_nothing(
    context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, tenant: Tenant
) -> None:
    await set_account_url(context, tenant.account_id, "https://hooks.example.com/rcs")
    agent = await agent_id(context, tenant)
    message_id = await sent_through(context, api, sender, "rbm")
    clock.advance(1)
    read = rbm_receipt(message_id, agent, ReceiptStatus.READ, clock)
    await context.receipts.handle([read])

    with statements(context) as seen:
        await context.receipts.handle([read])

    assert len(seen) == 1, seen  # the lock, which reads the status it already has
    assert await journey(context, message_id) == [("Sent", "rbm"), ("Read", "rbm")]
    assert await status_events(context, message_id) == [("Read", 2), ("Sent", 1)]


class Abandoned(Exception):
    pass


async def applied_then_abandoned(context: AppContext, receipt: InboundEvent) -> None:
    async with context.sessionmaker.begin() as session:
        await apply_statuses(session, [receipt])
        raise Abandoned


async def test_a_rolled_back_group_leaves_no_status_change(
    context: AppContext, api: httpx.AsyncClient, sender: Sender, clock: FakeClock, tenant: Tenant
) -> None:
    """The UPDATE commits with the journal or not at all (on SQLite too, where a statement
    the driver does not see as a write would run in a transaction of its own)."""
    agent = await agent_id(context, tenant)
    message_id = await sent_through(context, api, sender, "rbm")
    clock.advance(1)

    read = rbm_receipt(message_id, agent, ReceiptStatus.READ, clock)
    with pytest.raises(Abandoned):
        await applied_then_abandoned(context, read)

    async with context.sessionmaker() as session:
        assert await session.scalar(select(Message.status).where(Message.id == message_id)) == (
            "Sent"
        )
    assert await journey(context, message_id) == [("Sent", "rbm")]
