"""Settled pages give exactly what a plain offset query gives, for every window and order,
before and after the collection grows; and deep pages start from anchors."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from rcsgate.context import AppContext
from rcsgate.kit.pagination import Order, PageParams, paginate
from rcsgate.kit.settled import SETTLE_SECONDS, SettledPages
from rcsgate.models import Message
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender

WINDOWS = [
    (0, 50), (0, 7), (7, 7), (49, 50), (100, 13), (113, 7), (140, 50), (149, 1), (150, 5),
    (500, 10), (100, 13), (7, 7), (120, 30), (60, 1000),
]  # fmt: skip


async def bundle(api: httpx.AsyncClient, count: int, first: int) -> None:
    recipients = [f"467000{n:05d}" for n in range(first, first + count)]
    body = {
        "brand": "min-butik-ab",
        "agent": "kundservice",
        "content": "x",
        "recipients": recipients,
    }
    assert (await api.post("/v3/bundles", json=body)).status_code == 201


async def assert_same_pages(context: AppContext, pages: SettledPages, account_id: str) -> None:
    statement = select(Message).where(Message.account_id == account_id)
    for order in (Order.ASC, Order.DESC):
        for start, limit in WINDOWS:
            params = PageParams(start=start, limit=limit, order=order)
            async with context.sessionmaker() as session:
                fast = await pages.page(session, statement, params, Message.id, "q")
                plain = await paginate(session, statement, params, Message.id)
            assert fast.total == plain.total
            assert [m.id for m in fast.items] == [m.id for m in plain.items], (order, start, limit)


async def test_pages_match_plain_offsets_as_the_collection_grows(
    api: httpx.AsyncClient, sender: Sender, tenant: Tenant, context: AppContext
) -> None:
    await bundle(api, 120, first=0)
    boundary_time = time.time()
    # As if SETTLE_SECONDS had passed since the first bundle: it is settled, later ones not.
    pages = SettledPages(wall_time=lambda: boundary_time + SETTLE_SECONDS)
    await bundle(api, 30, first=1000)

    await assert_same_pages(context, pages, tenant.account_id)
    await bundle(api, 11, first=2000)
    await assert_same_pages(context, pages, tenant.account_id)

    (settled,) = pages._queries.values()
    assert 0 < settled.count <= 120
    assert settled.positions, "deep pages in the settled part leave anchors"
    assert all(position < settled.count for position in settled.positions)


async def test_an_empty_collection(context: AppContext, tenant: Tenant) -> None:
    statement = select(Message).where(Message.account_id == tenant.account_id)
    async with context.sessionmaker() as session:
        page = await SettledPages().page(session, statement, PageParams(), Message.id, "q")

    assert (page.total, list(page.items)) == (0, [])
