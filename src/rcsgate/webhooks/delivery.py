"""Sending webhook deliveries: one durable queue per endpoint (an account's URL), in the
manner of Synapse's per-destination federation queues.

Endpoints. `emit` queues each event on the endpoint of its URL. A sender claims endpoints
that have pending deliveries and are neither backing off nor leased to another sender
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), at most
`endpoints_at_once` at a time, each served by a task of its own: an endpoint that hangs
holds one slot for at most the 10 s timeout and delays no other endpoint or account.
Endpoints are taken longest-idle first, so a busy one cannot starve the rest.

Order. One sender at a time holds an endpoint (its lease), and it sends that endpoint's
pending deliveries oldest first, in waves: the first pending delivery of every message (or
conversation) together, then the second of each, and so on. A message's events therefore
arrive in order, while different messages' go in parallel over keep-alive connections.

Failures. A 2xx within the timeout is success; anything else fails the round. The endpoint
then backs off, 5 s doubling to at most 1 h (its state is in the database, so a restart
keeps it), and while it backs off only its oldest delivery is tried (a probe); the rest
follow once the probe succeeds. A delivery with no success by `give_up_at` (3 days after its
event, or after a redelivery) becomes Failed. Refused targets (see `guard`) fail at once.
Of an answer, only the status counts: at most `RESPONSE_LIMIT` bytes of its body are read
(enough to keep the connection for the next POST when the body is small); a longer body is
dropped with its connection, so a receiver cannot make the sender hold its answers.

At least once. A delivery is marked Delivered only after its 2xx; a sender that dies
mid-round leaves the endpoint's lease to expire, and the deliveries are sent again with the
same `webhook-id`, which receivers use to drop repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rcsgate.context import AppContext
from rcsgate.dispatch.relay import worker_name
from rcsgate.kit.backoff import Backoff
from rcsgate.kit.clock import Clock, SystemClock, isoformat_z
from rcsgate.kit.http import http_client
from rcsgate.kit.ids import new_id
from rcsgate.kit.wakeup import Doorbell, listening, wait_for_any
from rcsgate.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rcsgate.webhooks import guard
from rcsgate.webhooks.emit import DELIVERIES, PENDING
from rcsgate.webhooks.repository import WebhookRepository
from rcsgate.webhooks.signing import Secrets, sign_headers

log = structlog.get_logger(__name__)
BACKOFF = Backoff(base=5.0, cap=3600.0, factor=2.0, jitter=0.0)
USER_AGENT = "rcsgate-webhooks/1"
ERROR_LENGTH = 500
RESPONSE_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    account_id: str
    url: str
    failures: int


@dataclass(frozen=True, slots=True)
class Due:
    id: str
    type: str
    order_key: str
    sequence: int | None
    data: dict[str, Any]
    created_at: datetime

    def body(self) -> bytes:
        """The envelope; the same bytes on every attempt."""
        created = isoformat_z(self.created_at)
        return orjson.dumps(
            {"id": self.id, "type": self.type, "created": created, "data": self.data}
        )


@dataclass(frozen=True, slots=True)
class Result:
    delivery: Due
    at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None
    final: bool = False  # a failure that is not retried (a refused target)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def waves(batch: Sequence[Due]) -> list[list[Due]]:
    """The batch as rounds that keep each key's deliveries in order: round n holds the n-th
    delivery of every key. Within a key, by sequence (message.status) and then id."""
    groups: dict[str, list[Due]] = {}
    for due in batch:
        groups.setdefault(due.order_key, []).append(due)
    for group in groups.values():
        group.sort(key=lambda d: (d.sequence or 0, d.id))
    depth = max((len(g) for g in groups.values()), default=0)
    return [[g[n] for g in groups.values() if len(g) > n] for n in range(depth)]


@dataclass
class WebhookSender:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    client: httpx.AsyncClient
    allow_private: bool = False
    timeout: float = 10.0
    endpoints_at_once: int = 32
    batch_size: int = 200
    in_flight: int = 16  # POSTs at once to one endpoint
    lease: timedelta = timedelta(seconds=60)
    backoff: Backoff = BACKOFF
    # `webhook-timestamp` is the real time of the attempt even when a test drives the
    # schedule with a fake clock: receivers check it against their own clocks.
    wall: Clock = field(default_factory=SystemClock)
    name: str = field(default_factory=worker_name)
    # Rung when deliveries are queued (kit.wakeup); run_forever sleeps on it when idle.
    bell: Doorbell | None = None
    longest_wait: float = 1.0  # between looks while idle, for work no bell announced

    async def claim(self, limit: int) -> list[Endpoint]:
        if limit <= 0:
            return []
        now = self.clock.now()
        E, D = WebhookEndpoint, WebhookDelivery
        pending = select(D.id).where(D.endpoint_id == E.id, D.status == PENDING).exists()
        due = (
            select(E.id)
            .where(
                or_(E.retry_at.is_(None), E.retry_at <= now),
                or_(E.locked_until.is_(None), E.locked_until <= now),
                pending,
            )
            .order_by(E.locked_until.asc().nulls_first())
            .limit(limit)
        )
        async with self.sessionmaker.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=E)
            rows = await session.execute(
                update(E)
                .where(E.id.in_(due.scalar_subquery()))
                .values(locked_by=self.name, locked_until=now + self.lease)
                .returning(E.id, E.account_id, E.url, E.failures)
                .execution_options(synchronize_session=False)
            )
            return [Endpoint(*row) for row in rows]

    async def serve(self, endpoint: Endpoint) -> int:
        """One round for one claimed endpoint; the number of attempts made."""
        try:
            return await self._round(endpoint)
        except Exception:
            log.exception("webhooks.round_failed", endpoint=endpoint.id)
            await self._release(endpoint)
            return 0

    async def run_once(self) -> int:
        """Claim what is due and serve it; the number of attempts made."""
        endpoints = await self.claim(self.endpoints_at_once)
        done = await asyncio.gather(*(self.serve(e) for e in endpoints))
        return sum(done)

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Rounds until nothing is due now (tests, and a catch-up)."""
        total = 0
        for _ in range(max_rounds):
            attempts = await self.run_once()
            if not attempts:
                break
            total += attempts
        return total

    async def run_forever(self, stop: asyncio.Event, idle: float = 0.05) -> None:
        """Keep up to `endpoints_at_once` endpoints in service, each in a task of its own.
        With nothing to claim, wait for a round to end, for the doorbell (deliveries were
        queued: kit.wakeup), for the next endpoint to come out of its backoff or lease, or
        `longest_wait` at most. Without a bell, look again every `idle` seconds."""
        running: set[asyncio.Task[int]] = set()
        freed = asyncio.Event()

        def finished(task: asyncio.Task[int]) -> None:
            running.discard(task)
            freed.set()

        with self.bell.waiter() if self.bell else contextlib.nullcontext() as rung:
            while not stop.is_set():
                freed.clear()
                if rung is not None:
                    rung.clear()  # deliveries queued from here on ring it again
                slots = self.endpoints_at_once - len(running)
                try:
                    claimed = await self.claim(slots)
                    wait = idle
                    if not claimed and rung is not None and slots > 0:
                        wait = await self._until_due(idle)
                except Exception:
                    log.exception("webhooks.claim_failed")
                    claimed, wait = [], idle
                for endpoint in claimed:
                    task = asyncio.create_task(self.serve(endpoint))
                    running.add(task)
                    task.add_done_callback(finished)
                if not claimed:
                    await wait_for_any(wait, stop, freed, *([rung] if rung is not None else []))
        # Unfinished rounds are dropped: their leases run out and the deliveries go again.
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _until_due(self, shortest: float) -> float:
        """Seconds until the next endpoint with pending deliveries may be claimed (its backoff
        or another sender's lease ends), within [shortest, longest_wait]."""
        E, D = WebhookEndpoint, WebhookDelivery
        pending = select(D.id).where(D.endpoint_id == E.id, D.status == PENDING).exists()
        later = case(
            (E.retry_at.is_(None), E.locked_until),
            (E.locked_until.is_(None), E.retry_at),
            (E.retry_at > E.locked_until, E.retry_at),
            else_=E.locked_until,
        )
        async with self.sessionmaker() as session:
            due: datetime | None = await session.scalar(select(func.min(later)).where(pending))
        if due is None:
            return self.longest_wait
        seconds = (due - self.clock.now()).total_seconds()
        return min(max(seconds, shortest), self.longest_wait)

    async def _round(self, endpoint: Endpoint) -> int:
        limit = 1 if endpoint.failures else self.batch_size
        async with self.sessionmaker() as session:
            repository = WebhookRepository(session)
            batch = await self._due(session, endpoint.id, limit)
            keys = await repository.signing_secrets(endpoint.account_id) if batch else None
            await session.commit()
        if not batch or keys is None:
            await self._release(endpoint)
            return 0
        try:
            guard.check(endpoint.url, allow_private=self.allow_private)
        except guard.Refused as refused:
            results = _refused(batch, self.clock.now(), str(refused))
        else:
            results = await self._send(endpoint.url, batch, keys)
        await self._settle(endpoint, results)
        return len(results)

    async def _due(self, session: AsyncSession, endpoint_id: str, limit: int) -> list[Due]:
        D = WebhookDelivery
        rows = await session.execute(
            select(D.id, D.type, D.order_key, D.sequence, D.data, D.created_at)
            .where(D.endpoint_id == endpoint_id, D.status == PENDING)
            .order_by(D.id)
            .limit(limit)
        )
        return [Due(*row) for row in rows]

    async def _send(self, url: str, batch: Sequence[Due], keys: Secrets) -> list[Result]:
        gate = asyncio.Semaphore(self.in_flight)
        results: list[Result] = []
        for wave in waves(batch):
            outcomes = await asyncio.gather(*(self._post(gate, url, d, keys) for d in wave))
            results += outcomes
            refusal = next((r for r in outcomes if r.final), None)
            if refusal is not None:  # the name resolved to a refused address: all fail
                done = {r.delivery.id for r in results}
                rest = [d for d in batch if d.id not in done]
                return results + _refused(rest, refusal.at, refusal.error or "refused")
            if not all(r.ok for r in outcomes):
                break  # the rest wait: each key's next event must not overtake a failed one
        return results

    async def _post(self, gate: asyncio.Semaphore, url: str, due: Due, keys: Secrets) -> Result:
        body = due.body()
        headers = sign_headers(
            keys.signing(self.clock.now()), due.id, self.wall.now(), body.decode()
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = USER_AGENT
        async with gate:
            at, started = self.clock.now(), time.perf_counter()
            code: int | None = None
            error: str | None = None
            final = False
            try:
                code = await self._exchange(url, body, headers)
                error = None if 200 <= code < 300 else f"HTTP {code}"
            except guard.Refused as refused:
                error, final = str(refused), True
            except guard.Unresolved as unresolved:
                error = str(unresolved)
            except TimeoutError:
                error = f"no answer within {self.timeout:g} s"
            except httpx.HTTPError as failure:
                # The aiohttp transport wraps the error that says what happened (refused...).
                cause = failure.__cause__ or failure
                error = f"{type(cause).__name__}: {cause}"[:ERROR_LENGTH]
            duration = (time.perf_counter() - started) * 1000
        return Result(due, at, code, round(duration, 3), error, final)

    async def _exchange(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and read at most `RESPONSE_LIMIT` bytes of the answer, all within the
        timeout; the status. Once the status is in, it is the answer: a body that breaks
        off or trickles past the timeout changes nothing."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        request = self.client.build_request("POST", url, content=body, headers=headers)
        async with asyncio.timeout_at(deadline):
            response = await self.client.send(request, stream=True)
        try:
            with contextlib.suppress(TimeoutError, httpx.HTTPError):
                async with asyncio.timeout_at(deadline):
                    await _read_some(response)
        finally:
            await response.aclose()  # closing it unread closes its connection
        return response.status_code

    async def _settle(self, endpoint: Endpoint, results: Sequence[Result]) -> None:
        """Record the round: the endpoint's backoff and its release, every attempt, each
        delivery's state, in one transaction. The endpoint row is written first, as a
        redelivery does, so the two never wait on each other in a cycle."""
        now = self.clock.now()
        failed = any(not r.ok and not r.final for r in results)
        failures = endpoint.failures + 1 if failed else 0
        retry_at = now + timedelta(seconds=self.backoff.delay(failures)) if failed else None
        E = WebhookEndpoint
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(E)
                .where(E.id == endpoint.id, E.locked_by == self.name)
                .values(failures=failures, retry_at=retry_at, locked_by=None, locked_until=now)
            )
            await session.execute(
                insert(WebhookAttempt), [_attempt_row(r, endpoint.url) for r in results]
            )
            await session.execute(_mark, [_mark_values(r) for r in results])
            if failed:
                await _give_up(session, endpoint.id, now)
        if retry_at is not None:
            log.info(
                "webhooks.endpoint_backoff",
                endpoint=endpoint.id,
                failures=failures,
                retry_at=isoformat_z(retry_at),
            )

    async def _release(self, endpoint: Endpoint) -> None:
        E = WebhookEndpoint
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(E)
                .where(E.id == endpoint.id, E.locked_by == self.name)
                .values(locked_by=None, locked_until=self.clock.now())
            )


_mark = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=DELIVERIES.c.attempts + 1,
        last_attempt_at=bindparam("b_at"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
    )
)


async def _read_some(response: httpx.Response) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= RESPONSE_LIMIT:
            return


def _refused(batch: Sequence[Due], at: datetime, reason: str) -> list[Result]:
    return [Result(d, at, None, 0.0, reason, final=True) for d in batch]


def _mark_values(result: Result) -> dict[str, Any]:
    status = "Delivered" if result.ok else ("Failed" if result.final else PENDING)
    return {
        "b_id": result.delivery.id,
        "b_status": status,
        "b_at": result.at,
        "b_code": result.status_code,
        "b_error": result.error,
        "b_delivered": result.at if result.ok else None,
    }


def _attempt_row(result: Result, url: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "delivery_id": result.delivery.id,
        "at": result.at,
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
        "error": result.error,
        "url": url,
    }


async def _give_up(session: AsyncSession, endpoint_id: str, now: datetime) -> None:
    """Pending deliveries of the endpoint past their horizon become Failed."""
    D = WebhookDelivery
    await session.execute(
        update(D)
        .where(D.endpoint_id == endpoint_id, D.status == PENDING, D.give_up_at <= now)
        .values(status="Failed")
        .execution_options(synchronize_session=False)
    )


def build_sender(context: AppContext, client: httpx.AsyncClient) -> WebhookSender:
    settings = context.settings
    return WebhookSender(
        context.sessionmaker,
        context.clock,
        client,
        allow_private=settings.webhook_allow_private,
        timeout=settings.webhook_timeout,
        endpoints_at_once=settings.webhook_endpoints_at_once,
        batch_size=settings.webhook_batch,
        in_flight=settings.webhook_in_flight,
        bell=context.wakeups.webhooks,
    )


def sender_loop(sender: WebhookSender) -> WebhookSender:
    """The sender of one more loop, with a lease holder id of its own: loops sharing one would
    release each other's endpoints, and two could then serve one endpoint at once."""
    return replace(sender, name=worker_name())


def webhook_client(context: AppContext) -> httpx.AsyncClient:
    """One client for every endpoint (kit.http: httpx's API over aiohttp's pool), so
    keep-alive connections are reused round after round. Its resolver is the guard's: a
    name is checked when, and as, it is connected to. httpx follows no redirect unless
    told: a 3xx is a failure, and cannot lead past the guard."""
    settings = context.settings
    connections = settings.webhook_endpoints_at_once * settings.webhook_in_flight
    resolver = guard.Resolver(allow_private=settings.webhook_allow_private)
    return http_client(
        timeout=settings.webhook_timeout, max_connections=connections, resolver=resolver
    )


@contextlib.asynccontextmanager
async def running_webhooks(context: AppContext) -> AsyncIterator[WebhookSender]:
    """Run the webhook sender loops until the block ends (`serve` and `worker`)."""
    async with webhook_client(context) as client:
        sender = build_sender(context, client)
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            if context.settings.webhook_workers:
                await stack.enter_async_context(listening(context.engine, context.wakeups.webhooks))
            loops = [
                asyncio.create_task(sender_loop(sender).run_forever(stop))
                for _ in range(context.settings.webhook_workers)
            ]
            try:
                yield sender
            finally:
                stop.set()
                await asyncio.gather(*loops, return_exceptions=True)
