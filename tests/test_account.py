from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import update

from rcsgate.accounts.service import forget_account
from rcsgate.context import AppContext
from rcsgate.kit.clock import FakeClock
from rcsgate.models import Account
from tests.conftest import Tenant
from tests.fixtures.database import statements_run


async def test_get_account_returns_the_callers_account(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await api.get("/v3/account")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": tenant.account_id,
        "name": "Tenant",
        "currency": "SEK",
        "balance": 0.0,
        "rateLimit": 1000,
        "created": "2026-03-09T08:00:00Z",
    }


async def _rename_elsewhere(context: AppContext, account_id: str, name: str) -> None:
    """A change as another process makes it: straight to the database, no cache told."""
    async with context.engine.begin() as connection:
        await connection.execute(update(Account).where(Account.id == account_id).values(name=name))


class TestGetAccountFromMemory:
    async def test_a_repeated_get_runs_no_sql(
        self, api: httpx.AsyncClient, context: AppContext
    ) -> None:
        assert (await api.get("/v3/account")).status_code == 200

        with statements_run(context.engine) as statements:
            response = await api.get("/v3/account")

        assert response.status_code == 200
        assert statements == []

    async def test_another_process_change_shows_once_the_entry_expires(
        self, api: httpx.AsyncClient, context: AppContext, clock: FakeClock, tenant: Tenant
    ) -> None:
        await api.get("/v3/account")
        await _rename_elsewhere(context, tenant.account_id, "Renamed")

        assert (await api.get("/v3/account")).json()["name"] == "Tenant"
        clock.advance(context.settings.account_cache_seconds)
        assert (await api.get("/v3/account")).json()["name"] == "Renamed"

    async def test_requests_missing_an_expired_entry_together_read_it_once(
        self, api: httpx.AsyncClient, context: AppContext, clock: FakeClock
    ) -> None:
        await api.get("/v3/account")
        clock.advance(context.settings.account_cache_seconds)

        with statements_run(context.engine) as statements:
            responses = await asyncio.gather(*(api.get("/v3/account") for _ in range(8)))

        assert [r.status_code for r in responses] == [200] * 8
        reads = [s for s in statements if "FROM accounts" in s and "api_keys" not in s]
        assert len(reads) == 1

    async def test_a_change_in_this_process_shows_at_once(
        self, api: httpx.AsyncClient, context: AppContext, tenant: Tenant
    ) -> None:
        await api.get("/v3/account")
        await _rename_elsewhere(context, tenant.account_id, "Renamed")

        async with context.sessionmaker() as session:
            forget_account(session, tenant.account_id)

        assert (await api.get("/v3/account")).json()["name"] == "Renamed"
