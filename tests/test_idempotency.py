"""Idempotency (API.md 1): Idempotency-Key on any POST, uniqueId on conversations and bundles."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.idempotency import request_hash
from rcsgate.kit.clock import FakeClock
from rcsgate.models import Bundle, Conversation, IdempotencyKey, Message
from tests.conftest import Tenant
from tests.fixtures.messaging import Sender, count_rows
from tests.test_gate import assert_problem

START = {
    "brand": "min-butik-ab",
    "agent": "kundservice",
    "recipient": "46700123456",
    "content": "Hej!",
}
BUNDLE = {
    "brand": "min-butik-ab",
    "agent": "kundservice",
    "recipients": ["46700000101", "46700000102"],
    "content": "Rea!",
}


class TestHeader:
    async def test_a_repeat_answers_the_first_response_and_creates_nothing(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        headers = {"Idempotency-Key": "k-1"}
        first = await api.post("/v3/conversations", json=START, headers=headers)
        # The same JSON, other spacing and key order, is the same request.
        again = await api.post(
            "/v3/conversations",
            content=b'{"content":"Hej!","recipient":"46700123456",  "agent":"kundservice",'
            b'"brand":"min-butik-ab"}',
            headers={**headers, "Content-Type": "application/json"},
        )

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        assert await count_rows(context, Message) == 1

    async def test_the_same_key_with_another_body_is_422(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        headers = {"Idempotency-Key": "k-2"}
        await api.post("/v3/conversations", json=START, headers=headers)

        response = await api.post(
            "/v3/conversations", json={**START, "content": "Hallå!"}, headers=headers
        )

        assert_problem(response, 422, "idempotency-mismatch")
        assert await count_rows(context, Message) == 1

    async def test_a_repeat_while_the_first_is_in_flight_is_409(
        self, api: httpx.AsyncClient, sender: Sender, tenant: Tenant, context: AppContext
    ) -> None:
        headers = {"Idempotency-Key": "k-3"}
        await api.post("/v3/conversations", json=START, headers=headers)
        async with context.sessionmaker.begin() as session:
            row = await session.get(IdempotencyKey, (tenant.account_id, "key:k-3"))
            assert row is not None
            row.state, row.locked_until = "running", context.clock.now() + timedelta(seconds=30)

        response = await api.post("/v3/conversations", json=START, headers=headers)

        assert_problem(response, 409, "idempotency-in-flight")

    async def test_an_abandoned_claim_is_taken_over_after_its_lease(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        tenant: Tenant,
        context: AppContext,
        clock: FakeClock,
    ) -> None:
        async with context.sessionmaker.begin() as session:
            now = clock.now()
            session.add(
                IdempotencyKey(
                    account_id=tenant.account_id,
                    key="key:k-4",
                    state="running",
                    request_hash=_hash_of(START),
                    locked_until=now + timedelta(seconds=60),
                    created_at=now,
                    expires_at=now + timedelta(hours=24),
                )
            )
        clock.advance(61)

        response = await api.post(
            "/v3/conversations", json=START, headers={"Idempotency-Key": "k-4"}
        )

        assert response.status_code == 201, response.text
        assert await count_rows(context, Message) == 1

    async def test_a_failed_request_releases_its_key(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        headers = {"Idempotency-Key": "k-5"}
        bad = await api.post("/v3/conversations", json={**START, "brand": "nope"}, headers=headers)
        assert bad.status_code == 404

        good = await api.post("/v3/conversations", json=START, headers=headers)

        assert good.status_code == 201
        assert await count_rows(context, IdempotencyKey) == 1

    async def test_any_post_takes_a_key(self, api: httpx.AsyncClient, context: AppContext) -> None:
        headers = {"Idempotency-Key": "brand-1"}
        first = await api.post("/v3/brands", json={"displayName": "Acme"}, headers=headers)
        again = await api.post("/v3/brands", json={"displayName": "Acme"}, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()

    async def test_keys_are_per_account(
        self,
        api: httpx.AsyncClient,
        context: AppContext,
        make_tenant: object,
        client_for: object,
    ) -> None:
        other = await make_tenant(name="Other")  # type: ignore[operator]
        intruder = client_for(token=other.token)  # type: ignore[operator]
        headers = {"Idempotency-Key": "shared"}

        mine = await api.post("/v3/brands", json={"displayName": "Acme"}, headers=headers)
        theirs = await intruder.post("/v3/brands", json={"displayName": "Other"}, headers=headers)

        assert mine.status_code == theirs.status_code == 201
        assert theirs.json()["displayName"] == "Other"

    async def test_a_key_expires_after_24_hours(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, clock: FakeClock
    ) -> None:
        headers = {"Idempotency-Key": "k-6"}
        await api.post("/v3/conversations", json=START, headers=headers)
        clock.advance(24 * 3600 + 1)

        again = await api.post("/v3/conversations", json=START, headers=headers)

        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert await count_rows(context, Message) == 2

    async def test_an_overlong_key_is_400(self, api: httpx.AsyncClient, sender: Sender) -> None:
        response = await api.post(
            "/v3/conversations", json=START, headers={"Idempotency-Key": "k" * 256}
        )

        assert (
            assert_problem(response, 400, "validation")["errors"][0]["field"] == "Idempotency-Key"
        )


class TestUniqueId:
    async def test_a_repeated_bundle_unique_id_answers_the_first_bundle(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        body = {**BUNDLE, "uniqueId": "sale-notice-001"}
        first = await api.post("/v3/bundles", json=body)
        again = await api.post("/v3/bundles", json=body)

        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert await count_rows(context, Bundle) == 1
        assert await count_rows(context, Message) == 2

    async def test_a_unique_id_with_another_body_is_422(
        self, api: httpx.AsyncClient, sender: Sender
    ) -> None:
        await api.post("/v3/conversations", json={**START, "uniqueId": "c-1"})

        response = await api.post(
            "/v3/conversations", json={**START, "uniqueId": "c-1", "content": "Annat"}
        )

        assert_problem(response, 422, "idempotency-mismatch")

    async def test_a_unique_id_stays_taken_beyond_24_hours(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext, clock: FakeClock
    ) -> None:
        await api.post("/v3/conversations", json={**START, "uniqueId": "c-2"})
        clock.advance(25 * 3600)

        response = await api.post("/v3/conversations", json={**START, "uniqueId": "c-2"})

        assert_problem(response, 409, "already-exists")
        assert await count_rows(context, Conversation) == 1

    async def test_concurrent_duplicates_create_exactly_one(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        body = {**BUNDLE, "uniqueId": "race-1"}

        responses = await asyncio.gather(*(api.post("/v3/bundles", json=body) for _ in range(8)))

        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, [r.text for r in responses]
        assert 201 in statuses
        created = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created) == 1
        assert await count_rows(context, Bundle) == 1
        assert await count_rows(context, Message) == 2


def _hash_of(body: dict[str, object]) -> str:
    return request_hash({"method": "POST", "path": "/v3/conversations"}, json.dumps(body).encode())


class TestDeepNesting:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return Settings(database_url=database_url, max_body_bytes=1024 * 1024)

    @pytest.mark.parametrize("key", [None, "deep-1"])
    @pytest.mark.parametrize("path", ["/v3/conversations", "/v3/bundles", "/v3/brands"])
    async def test_a_body_nested_100000_deep_is_400(
        self,
        api: httpx.AsyncClient,
        sender: Sender,
        context: AppContext,
        key: str | None,
        path: str,
    ) -> None:
        headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
        body = b"[" * 100_000 + b"]" * 100_000
        response = await api.post(path, content=body, headers=headers)

        problem = assert_problem(response, 400, "validation")
        assert problem["errors"] == [{"field": "", "message": "is nested deeper than 32 levels"}]
        assert await count_rows(context, IdempotencyKey) == 0

    async def test_deep_content_under_a_unique_id_is_400(
        self, api: httpx.AsyncClient, sender: Sender, context: AppContext
    ) -> None:
        deep = {**START, "uniqueId": "u-deep", "content": {"text": "Hej", "card": {}}}
        text = json.dumps(deep).replace('"card": {}', '"card": ' + "[" * 2000 + "]" * 2000)
        response = await api.post(
            "/v3/conversations", content=text, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "validation")
        assert await count_rows(context, Message) == 0

    def test_the_request_hash_of_any_body_is_found(self) -> None:
        scope = {"method": "POST", "path": "/v3/conversations"}
        assert request_hash(scope, b"[" * 100_000 + b"]" * 100_000)
