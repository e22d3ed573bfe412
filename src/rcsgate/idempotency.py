"""Idempotent POSTs (API.md 1): the `Idempotency-Key` header on any POST under /v3, and
`uniqueId` on POST /conversations and POST /bundles.

The key is claimed in a short transaction of its own before the request runs, so a
concurrent duplicate sees the claim and gets 409. The request's own unit of work is then
handed to this middleware instead of committing (see `dependencies.unit_of_work`): the
response is recorded on the claim in that same transaction, so a resource is never committed
without the answer a retry will replay, nor the other way round. A claim whose request failed
is released, so a corrected retry may use the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rcsgate.context import AppContext
from rcsgate.errors import Conflict, RcsgateError, ValidationFailed, problem_response
from rcsgate.gate import principal_of
from rcsgate.kit.asgi import read_all, replay_body
from rcsgate.models import IdempotencyKey

KEEP_FOR = timedelta(hours=24)
# A claim not answered within this time is taken to be abandoned (its process died).
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
UNIQUE_ID_PATHS = frozenset({"/v3/conversations", "/v3/bundles"})


class IdempotencyMismatch(RcsgateError):
    status, slug, title = 422, "idempotency-mismatch", "The key was used with another request"


class IdempotencyInFlight(Conflict):
    slug, title = "idempotency-in-flight", "A request with this key is still being processed"


@dataclass
class Slot:
    """A claimed key; the request's unit of work is adopted here instead of committing."""

    account_id: str
    key: str
    session: AsyncSession | None = None
    response: dict[str, Any] = field(default_factory=dict)

    def adopt(self, session: AsyncSession) -> None:
        self.session = session


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    content_type: str
    location: str | None
    body: bytes


class Idempotency:
    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or "principal" not in scope.get("state", {})
        ):
            await self.app(scope, receive, send)
            return
        body = await read_all(receive)
        try:
            key = _key(scope, Headers(scope=scope), body)
            if key is None:
                await self.app(scope, replay_body(body, receive), send)
                return
            account_id = principal_of(scope["state"]).account_id
            claim = await self._claim(account_id, key, request_hash(scope, body))
        except RcsgateError as error:
            await problem_response(error)(scope, receive, send)
            return
        if isinstance(claim, Replay):
            await _send_replay(claim, send)
            return
        await self._run(claim, scope, replay_body(body, receive), send)

    async def _claim(self, account_id: str, key: str, fingerprint: str) -> Slot | Replay:
        now = self.context.clock.now()
        async with self.context.sessionmaker() as session:
            if await _insert_claim(session, account_id, key, fingerprint, now):
                return Slot(account_id, key)
            row = await session.get(IdempotencyKey, (account_id, key))
            if row is None or row.expires_at <= now:
                await session.execute(_delete(account_id, key))
                await session.commit()
                return await self._claim(account_id, key, fingerprint)
            return await _existing(session, row, fingerprint, now)

    async def _run(self, slot: Slot, scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["idempotency"] = slot
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if slot.session is not None and not _succeeded(captured):
                await slot.session.rollback()
        await self._finish(slot, captured)
        for message in captured:
            await send(message)

    async def _finish(self, slot: Slot, captured: list[Message]) -> None:
        """Commit the adopted work together with the recorded answer, or release the key."""
        if not _succeeded(captured):
            await self._release(slot)
            return
        session = slot.session or self.context.sessionmaker()
        try:
            await session.execute(_record(slot, captured))
            await session.commit()
        except BaseException:
            await session.rollback()
            await self._release(slot)
            raise
        finally:
            await session.close()

    async def _release(self, slot: Slot) -> None:
        if slot.session is not None:
            await slot.session.close()
        async with self.context.sessionmaker() as session:
            await session.execute(_delete(slot.account_id, slot.key))
            await session.commit()


async def _insert_claim(
    session: AsyncSession, account_id: str, key: str, fingerprint: str, now: datetime
) -> bool:
    session.add(
        IdempotencyKey(
            account_id=account_id,
            key=key,
            request_hash=fingerprint,
            state="running",
            locked_until=now + LEASE,
            created_at=now,
            expires_at=now + KEEP_FOR,
        )
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def _existing(
    session: AsyncSession, row: IdempotencyKey, fingerprint: str, now: datetime
) -> Slot | Replay:
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch("This key was used with a different request body")
    if row.state == "done":
        return Replay(
            status=row.response_status or 200,
            content_type=row.response_type or "application/json",
            location=row.response_location,
            body=(row.response_body or "").encode(),
        )
    if row.locked_until > now:
        raise IdempotencyInFlight("A request with this key is still in flight; retry shortly")
    # The first attempt's process died mid-request: take the claim over, once.
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.account_id == row.account_id,
            IdempotencyKey.key == row.key,
            IdempotencyKey.locked_until == row.locked_until,
        )
        .values(locked_until=now + LEASE)
    )
    await session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise IdempotencyInFlight("A request with this key is still in flight; retry shortly")
    return Slot(row.account_id, row.key)


def _key(scope: Scope, headers: Headers, body: bytes) -> str | None:
    header = headers.get("idempotency-key")
    if header is not None:
        if not 1 <= len(header) <= MAX_KEY_LENGTH:
            raise ValidationFailed.field(
                "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters"
            )
        return f"key:{header}"
    # A body that spells no "uniqueId" (not even with a \u escape) has none: not parsed.
    if scope["path"] in UNIQUE_ID_PATHS and (b'"uniqueId"' in body or b"\\u" in body):
        unique_id = _json(body).get("uniqueId")
        if isinstance(unique_id, str) and unique_id:
            return f"uniqueId:{scope['path']}:{unique_id}"
    return None


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def request_hash(scope: Scope, body: bytes) -> str:
    """Bodies that are the same JSON are the same request, whatever their spacing or order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256(f"{scope['method']} {scope['path']}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _succeeded(captured: list[Message]) -> bool:
    start = next((m for m in captured if m["type"] == "http.response.start"), None)
    return start is not None and 200 <= int(start["status"]) < 300


def _record(slot: Slot, captured: list[Message]) -> Any:
    start = next(m for m in captured if m["type"] == "http.response.start")
    headers = Headers(raw=start.get("headers", []))
    body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
    return (
        update(IdempotencyKey)
        .where(IdempotencyKey.account_id == slot.account_id, IdempotencyKey.key == slot.key)
        .values(
            state="done",
            response_status=int(start["status"]),
            response_type=headers.get("content-type"),
            response_location=headers.get("location"),
            response_body=body.decode(),
        )
    )


def _delete(account_id: str, key: str) -> Any:
    return delete(IdempotencyKey).where(
        IdempotencyKey.account_id == account_id, IdempotencyKey.key == key
    )


async def _send_replay(replay: Replay, send: Send) -> None:
    headers = [
        (b"content-type", replay.content_type.encode()),
        (b"content-length", str(len(replay.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    if replay.location:
        headers.append((b"location", replay.location.encode()))
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})
