"""The demo account a first `rcsgate serve` seeds can send at once, SMS fallback included."""

from __future__ import annotations

from rcsgate.cli.demo import seed_demo
from rcsgate.context import AppContext
from tests.conftest import ClientFactory


async def test_the_demo_agents_sms_sender_is_verified(
    context: AppContext, client_for: ClientFactory
) -> None:
    demo = await seed_demo(context)
    assert demo is not None
    body = {
        "brand": demo.brand,
        "agent": demo.agent,
        "recipient": "46700000002",
        "content": "Hej",
        "fallback": {"sms": {"content": "Hej"}},  # goes out as the agent's DemoStore
    }
    response = await client_for(token=demo.api_key).post("/v3/conversations", json=body)
    assert response.status_code == 201, response.text
