"""Small bundles that arrive together share one transaction (bundles/committer.py); a
bundle that cannot be written fails alone; big ones are written on their own."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from rcsgate.bundles import service
from rcsgate.bundles.committer import GROUPED_RECIPIENTS
from rcsgate.bundles.schemas import BundleCreate, BundleRead
from rcsgate.context import AppContext
from rcsgate.errors import AlreadyExists
from rcsgate.messages.service import Pricing
from rcsgate.models import Bundle, BundleTag, Job, Message
from tests.conftest import Tenant
from tests.fixtures.database import commits
from tests.fixtures.ip1 import E10_QUICK_START
from tests.fixtures.messaging import Sender, count_rows

BUNDLES = 10


def body(first: int, count: int = 2, **fields: object) -> dict[str, Any]:
    recipients = {str(first + n): {} for n in range(count)}
    return {**E10_QUICK_START, "recipients": recipients, **fields}


async def create_all(api: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(api.post("/v3/bundles", json=b) for b in bodies)))


async def create_grouped(context: AppContext, account_id: str, data: dict[str, Any]) -> BundleRead:
    async with context.sessionmaker() as session:
        return await service.create_bundle(
            session,
            context.clock,
            Pricing(Decimal("0.45"), "SEK"),
            account_id,
            BundleCreate.model_validate(data),
            context.bundles,
            platform_sender=context.settings.sms_sender,
        )


class TestGroupCommit:
    async def test_concurrent_bundles_share_transactions_and_are_all_stored(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        await create_all(api, [body(46700400000)])  # the sender is read and cached first
        with commits(context.engine) as seen:
            responses = await create_all(api, [body(46700401000 + 10 * n) for n in range(BUNDLES)])

        assert [r.status_code for r in responses] == [201] * BUNDLES
        assert len(seen) < BUNDLES
        ids = [r.json()["id"] for r in responses]
        async with context.sessionmaker() as session:
            counted = await session.execute(
                select(Message.bundle_id, func.count())
                .where(Message.bundle_id.in_(ids))
                .group_by(Message.bundle_id)
            )
            per_bundle = {row[0]: row[1] for row in counted}
            jobs = await session.scalars(select(Job.payload).where(Job.kind == "send_bundle"))
            queued = {job["bundleId"] for job in jobs}
        assert per_bundle == dict.fromkeys(ids, 2)
        assert queued >= set(ids)
        assert await count_rows(context, BundleTag) == 2 * (BUNDLES + 1)

    async def test_a_taken_unique_id_fails_only_its_own_bundle(
        self, sender: Sender, context: AppContext, tenant: Tenant
    ) -> None:
        # Through the API a uniqueId makes the request idempotent (its own transaction); the
        # committer still keeps a unique index's refusal to the bundle it hits.
        bodies = [body(46700410000 + 10 * n) for n in range(BUNDLES)]
        bodies[2]["uniqueId"] = bodies[5]["uniqueId"] = "same-unique-id"

        results = await asyncio.gather(
            *(create_grouped(context, tenant.account_id, b) for b in bodies),
            return_exceptions=True,
        )

        failed = [n for n, result in enumerate(results) if isinstance(result, BaseException)]
        assert len(failed) == 1
        assert failed[0] in (2, 5)
        assert isinstance(results[failed[0]], AlreadyExists)
        assert await count_rows(context, Bundle) == BUNDLES - 1
        assert await count_rows(context, Message) == 2 * (BUNDLES - 1)

    async def test_a_bundle_over_the_group_size_is_stored_whole(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        count = GROUPED_RECIPIENTS + 1
        response = await api.post("/v3/bundles", json=body(46700420000, count))

        assert response.status_code == 201, response.text
        assert await count_rows(context, Message, bundle_id=response.json()["id"]) == count
