"""bench/bare_app.py, the baseline of send_accept and account_get, pays for rcsgate's own
request and response classes: a bare echo would make the ratio compare unlike work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from bench.bare_app import app

SEND = {"brand": "bench", "agent": "bot", "recipient": "46700123456", "content": "Hej!"}


@pytest.fixture
async def bare() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        yield client


async def test_send_is_parsed_as_a_conversation_create(bare: httpx.AsyncClient) -> None:
    response = await bare.post("/v3/conversations", json={**SEND, "recipient": "not a number"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "recipient"]


async def test_send_answers_a_message_read(bare: httpx.AsyncClient) -> None:
    response = await bare.post("/v3/conversations", json=SEND)
    assert response.status_code == 201
    message = response.json()
    assert message["recipient"] == SEND["recipient"]
    assert message["conversationId"]
    assert message["status"] == "Queued"
    assert message["type"] == "Text"


async def test_account_answers_an_account_read(bare: httpx.AsyncClient) -> None:
    response = await bare.get("/v3/account")
    assert response.status_code == 200
    assert response.json()["rateLimit"] == 1000000
    assert response.json()["created"].endswith("Z")
