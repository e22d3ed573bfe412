"""The routes `rcsgate.direct` answers without FastAPI's routing answer exactly as FastAPI's
own routes do: the same request to the app and to an app without direct routes gets the same
status, headers and body (ids and times aside), for good requests and bad ones alike."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from rcsgate.app import create_app
from rcsgate.context import AppContext
from rcsgate.direct import DIRECT
from tests.conftest import ClientFactory, Tenant
from tests.fixtures.ip1 import E6_CONVERSATION
from tests.fixtures.messaging import Sender

ID = re.compile(r"\b[0-9a-f]{24}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
BUNDLE = {"brand": E6_CONVERSATION["brand"], "agent": E6_CONVERSATION["agent"], "content": "Hej"}

# (method, path, body): every kind of answer the direct routes give.
REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/v3/account", None),
    ("POST", "/v3/conversations", E6_CONVERSATION),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "recipient": "46700000009"}),
    ("POST", "/v3/conversations", b""),
    ("POST", "/v3/conversations", b"{not json"),
    ("POST", "/v3/conversations", b"\xff\xfe"),
    ("POST", "/v3/conversations", []),
    ("POST", "/v3/conversations", "a string"),
    ("POST", "/v3/conversations", {}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "recipient": "123"}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "brand": 7}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "brand": "no-such-brand"}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "content": "x" * 5000}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "card": {"title": 3}, "content": None}),
    ("POST", "/v3/conversations", {**E6_CONVERSATION, "fallback": {"sms": {"sender": "Evil"}}}),
    ("POST", "/v3/bundles", {**BUNDLE, "recipients": ["46700000001", "46700000002"]}),
    ("POST", "/v3/bundles", {**BUNDLE, "recipients": []}),
    ("POST", "/v3/bundles", {**BUNDLE, "recipients": ["46700000001"], "agent": "nobody"}),
    ("POST", "/v3/bundles", {"recipients": "46700000001"}),
]


@pytest.fixture
def reference(context: AppContext) -> FastAPI:
    """The same app, every route through FastAPI."""
    return create_app(context=context, direct=frozenset())


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], str]:
    headers = {
        name: ID.sub("<id>", value)
        for name, value in response.headers.items()
        if name in {"content-type", "location", "allow"} or name.startswith("ratelimit")
    }
    headers.pop("ratelimit-remaining", None)  # both apps count against one account
    body = TIME.sub("<time>", ID.sub("<id>", response.text))
    return response.status_code, headers, body


async def _send(client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json"}
        return await client.request(method, path, content=body, headers=headers)
    return await client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
async def test_a_direct_route_answers_as_fastapi_does(
    client_for: ClientFactory,
    tenant: Tenant,
    sender: Sender,
    reference: FastAPI,
    method: str,
    path: str,
    body: Any,
) -> None:
    direct = client_for(token=tenant.token)
    through_fastapi = client_for(token=tenant.token, target=reference)

    ours = await _send(direct, method, path, body)
    theirs = await _send(through_fastapi, method, path, body)

    assert _comparable(ours) == _comparable(theirs)


def test_every_direct_route_is_in_the_comparison() -> None:
    assert {(method, path) for method, path, _ in REQUESTS} == DIRECT


async def test_the_direct_routes_are_labelled_in_the_metrics(
    api: httpx.AsyncClient, sender: Sender
) -> None:
    def count() -> float:
        labels = {"method": "POST", "route": "/v3/conversations", "status": "201"}
        return REGISTRY.get_sample_value("rcsgate_http_requests_total", labels) or 0.0

    before = count()
    assert (await api.post("/v3/conversations", json=E6_CONVERSATION)).status_code == 201
    assert count() == before + 1
