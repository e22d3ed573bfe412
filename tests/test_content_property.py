"""Any content posted to the API is accepted (201) or refused with a 400 whose every error
names a field; never a 5xx, never anything else."""

from __future__ import annotations

import json
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings

from tests.content.test_properties import Values, bodies
from tests.fixtures.threaded import Target, sending_tenant, target

__all__ = ["sending_tenant", "target"]


async def post(target: Target, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=target)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        # json.dumps writes NaN and Infinity, which Python's parser reads back: let them come.
        return await client.post(
            "/v3/conversations",
            content=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"},
        )


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=bodies(Values(wild=True)))
def test_random_content_is_accepted_or_refused_naming_fields(
    target: Target, content: dict[str, Any]
) -> None:
    body = {**content, "brand": "min-butik-ab", "agent": "kundservice", "recipient": "46700123456"}
    with start_blocking_portal() as portal:
        response = portal.call(post, target, body)

    assert response.status_code in (201, 400), response.text
    if response.status_code == 400 and not response.json()["type"].endswith("/malformed-json"):
        problem = response.json()
        assert problem["errors"], problem
        assert all(error["field"].startswith("/") for error in problem["errors"]), problem
