from __future__ import annotations

import httpx

from tests.conftest import Tenant


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
