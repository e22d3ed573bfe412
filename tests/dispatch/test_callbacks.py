"""`POST /operators/{name}/callback` through the app: what it refuses before it reads, parses
or trusts anything (the journeys in test_journeys.py cover the callbacks it accepts)."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from rcsgate.connectors.maap import SIGNATURE_HEADER, MaapConnector, sign
from rcsgate.connectors.rbm import RbmConnector, TokenSource, push_body
from rcsgate.context import AppContext
from rcsgate.dispatch.routing import Operators
from rcsgate.simulator.rbm import service_account
from tests.conftest import ClientFactory
from tests.test_gate import assert_problem

SECRET = "callback-secret"
CLOSED = "http://127.0.0.1:9"  # the connectors here only parse; they never call out
CAP = 1024 * 1024  # the default callback_max_body_bytes
CHUNK = 64 * 1024


@functools.cache
def key_file() -> dict[str, str]:
    return service_account("")[0]  # RSA key generation is slow: one key for the module


@pytest.fixture
async def operators(context: AppContext) -> AsyncIterator[Operators]:
    context.operators = Operators(
        rcs={
            "rbm": RbmConnector("rbm", TokenSource(key_file()), SECRET, base_url=CLOSED),
            "maap": MaapConnector("maap", CLOSED, "token", SECRET),
        }
    )
    yield context.operators
    await context.operators.aclose()


@pytest.fixture
def operator(client_for: ClientFactory, operators: Operators) -> httpx.AsyncClient:
    """An unauthenticated client, as an operator (or anyone) reaches the callback path."""
    return client_for()


class Pump:
    """A chunked request body that counts how much of it the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b" " * CHUNK


class TestBodyCap:
    async def test_a_declared_length_past_the_cap_is_refused(
        self, operator: httpx.AsyncClient
    ) -> None:
        response = await operator.post("/operators/maap/callback", content=b" " * (CAP + 1))

        body = assert_problem(response, 413, "payload-too-large")
        assert str(CAP) in body["detail"]

    async def test_a_chunked_body_is_read_no_further_than_the_cap(
        self, operator: httpx.AsyncClient
    ) -> None:
        pump = Pump(total=100 * CAP)

        response = await operator.post("/operators/rbm/callback", content=pump)

        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload-too-large")
        assert pump.pulled <= CAP + CHUNK

    async def test_a_signed_body_just_under_the_cap_is_taken(
        self, operator: httpx.AsyncClient
    ) -> None:
        notification = {"event": "alias", "padding": ""}  # authentic, and no event for us
        notification["padding"] = "x" * (CAP - len(json.dumps(notification).encode()))
        body = json.dumps(notification).encode()

        response = await operator.post(
            "/operators/maap/callback", content=body, headers={SIGNATURE_HEADER: sign(SECRET, body)}
        )

        assert len(body) == CAP
        assert (response.status_code, response.json()) == (200, {"received": 0})

    async def test_the_cap_is_a_setting(
        self, operator: httpx.AsyncClient, context: AppContext
    ) -> None:
        context.settings = context.settings.model_copy(update={"callback_max_body_bytes": 2048})

        response = await operator.post("/operators/maap/callback", content=b" " * 2049)

        assert_problem(response, 413, "payload-too-large")


class TestSignatures:
    async def test_a_non_ascii_goog_signature_is_refused(self, operator: httpx.AsyncClient) -> None:
        body = push_body({"senderPhoneNumber": "+46700000001", "text": "hi"}, "x")

        response = await operator.post(
            "/operators/rbm/callback",
            content=body,
            headers={"X-Goog-Signature": "é".encode() * 44},
        )

        assert_problem(response, 401, "bad-signature")

    async def test_a_non_ascii_maap_signature_is_refused(self, operator: httpx.AsyncClient) -> None:
        response = await operator.post(
            "/operators/maap/callback",
            content=b'{"event": "message"}',
            headers={SIGNATURE_HEADER: "é".encode() * 32},
        )

        assert_problem(response, 401, "bad-signature")

    async def test_an_unknown_operator_is_not_found(self, operator: httpx.AsyncClient) -> None:
        response = await operator.post("/operators/nobody/callback", content=b"{}")

        assert_problem(response, 404, "not-found")


class Probe:
    """A middleware at the bottom of the app's stack, noting the paths that reach it."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


class TestRouting:
    async def test_a_callback_skips_the_v3_stack(
        self, app: FastAPI, operator: httpx.AsyncClient
    ) -> None:
        """Key gate, idempotency, FastAPI's routing: each callback paid for them all."""
        seen: list[str] = []
        app.user_middleware.append(Middleware(Probe, seen=seen))
        body = b'{"event": "alias"}'

        callback = await operator.post(
            "/operators/maap/callback", content=body, headers={SIGNATURE_HEADER: sign(SECRET, body)}
        )
        health = await operator.get("/healthz")

        assert (callback.status_code, callback.json()) == (200, {"received": 0})
        assert health.status_code == 200
        assert seen == ["/healthz"]

    async def test_another_method_is_not_allowed(self, operator: httpx.AsyncClient) -> None:
        response = await operator.get("/operators/rbm/callback")

        assert_problem(response, 405, "method-not-allowed")
        assert response.headers["allow"] == "POST"

    @pytest.mark.parametrize("path", ["/operators/rbm/other", "/operators//callback"])
    async def test_another_path_is_not_found(self, operator: httpx.AsyncClient, path: str) -> None:
        response = await operator.post(path, content=b"{}")

        assert_problem(response, 404, "not-found")
