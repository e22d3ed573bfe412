"""Webhook deliveries per second to one local receiver, beside a plain httpx loop.

rcsgate: `--duration` x 1,000 message.status events (a quarter of the messages each, four
statuses, queued in the order the pipeline would queue them) wait in one endpoint's queue in
SQLite; the webhook sender (webhooks.delivery, as `rcsgate worker` runs it: batches of 200,
`IN_FLIGHT` POSTs in flight, signed per Standard Webhooks, every attempt and result written back)
delivers them all. The figure is events confirmed Delivered per second.

Baseline, in the same run: the same number of POSTs of the same envelopes to the same
receiver by a bare httpx loop with the same client settings and the same POSTs in flight, no
database, no signing.

The receiver (bench/webhook_receiver.py) runs in its own process, on loopback over plain
HTTP: TLS would add the ssl module's cost to both sides alike. `BENCH_WEBHOOKS_IN_FLIGHT`
changes the POSTs in flight for both (default 16, the setting's default),
`BENCH_WEBHOOKS_BATCH` the deliveries per round (default 200, likewise). Target: 1,000
events/s (DESIGN.md: the pipeline ends with a signed webhook received, at 1,000 msg/s).

Both sides use kit.http's client (httpx's API over aiohttp's pool), whose cost per request
bounds both figures; the ratio says what the queue, the signing and the bookkeeping add.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.core import BenchError, BenchResult, Measure, Options
from bench.registry import benchmark
from bench.servers import free_port, running, uvicorn_command
from rcsgate.accounts.service import create_account
from rcsgate.kit.clock import SystemClock
from rcsgate.kit.db import create_engine, create_sessionmaker
from rcsgate.kit.http import http_client
from rcsgate.kit.ids import new_id
from rcsgate.kit.migrations import upgrade_database
from rcsgate.models import WebhookDelivery
from rcsgate.webhooks import emit
from rcsgate.webhooks.delivery import Due, WebhookSender
from rcsgate.webhooks.repository import WebhookRepository

EVENTS_PER_SECOND_TARGET = 1000.0
STATUSES = ("Sent", "Delivered", "Read", "Read")
IN_FLIGHT = int(os.environ.get("BENCH_WEBHOOKS_IN_FLIGHT", "16"))
BATCH = int(os.environ.get("BENCH_WEBHOOKS_BATCH", "200"))
WARMUP_EVENTS = 400


@dataclass(frozen=True)
class Run:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@benchmark("webhooks", "signed webhook deliveries/s to one receiver vs a bare httpx loop")
def webhooks(options: Options) -> BenchResult:
    events = max(1000, options.duration * 1000)
    with tempfile.TemporaryDirectory(prefix="rcsgate-bench-webhooks-") as folder:
        data_dir = Path(folder)
        port = free_port()
        command = uvicorn_command("bench.webhook_receiver:app", port, None)
        with running("receiver", command, port=port, tls=None, log_dir=data_dir) as server:
            url = f"{server.base_url}/hook"
            ours, bare = asyncio.run(_measure(data_dir, url, events))
    return BenchResult(
        name="webhooks",
        title=f"{events:,} message.status webhooks to one local receiver",
        figure_name="rcsgate sender",
        baseline_name="bare httpx loop",
        setup=f"SQLite, one endpoint, batches of 200, {IN_FLIGHT} POSTs in flight; "
        "receiver: one uvicorn worker in its own process",
        measures=(
            Measure("deliveries vs bare POSTs", "events/s", ours.rate, bare.rate),
            Measure.absolute(
                "deliveries vs target",
                "events/s",
                ours.rate,
                EVENTS_PER_SECOND_TARGET,
                higher_is_better=True,
            ),
        ),
        details={"events": events, "rcsgate_seconds": ours.seconds, "bare_seconds": bare.seconds},
    )


async def _measure(data_dir: Path, url: str, events: int) -> tuple[Run, Run]:
    database_url = f"sqlite+aiosqlite:///{data_dir / 'rcsgate.db'}"
    await asyncio.to_thread(upgrade_database, database_url)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    clock = SystemClock()
    try:
        async with sessionmaker.begin() as session:
            account = await create_account(
                session, clock, name="bench", email="b@example.com", currency="SEK", rate_limit=30
            )
            account_id = account.id
            await WebhookRepository(session).signing_secrets(account_id)  # made before timing
        async with _client() as client:
            sender = WebhookSender(
                sessionmaker,
                clock,
                client,
                allow_private=True,
                in_flight=IN_FLIGHT,
                batch_size=BATCH,
            )
            await _queue(sessionmaker, account_id, url, WARMUP_EVENTS)
            await sender.run_until_idle()
            await _queue(sessionmaker, account_id, url, events)
            started = time.perf_counter()
            await sender.run_until_idle(max_rounds=100_000)
            ours = Run(events, time.perf_counter() - started)
            delivered = await _delivered(sessionmaker)
            if delivered != events + WARMUP_EVENTS:
                raise BenchError(f"only {delivered} of {events + WARMUP_EVENTS} delivered")
            bodies = [_body(n) for n in range(events)]
            await _bare(client, url, bodies[:WARMUP_EVENTS])
            started = time.perf_counter()
            await _bare(client, url, bodies)
            bare = Run(events, time.perf_counter() - started)
    finally:
        await engine.dispose()
    return ours, bare


def _client() -> httpx.AsyncClient:
    """The client webhooks.delivery.webhook_client makes (kit.http), for both sides."""
    return http_client(timeout=10.0, max_connections=IN_FLIGHT * 2)


async def _queue(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: str, url: str, count: int
) -> None:
    """`count` message.status events as the pipeline queues them: every message's Sent, then
    every Delivered, and so on (through emit.store, the emitting code's own insert)."""
    messages = [new_id() for _ in range(count // len(STATUSES) + 1)]
    now = SystemClock().now()
    batch: list[emit.Event] = []
    made = 0
    for sequence, status in enumerate(STATUSES, start=1):
        for mid in messages:
            if made == count:
                break
            data = {"messageId": mid, "status": status, "sequence": sequence, "channel": "RCS"}
            at = now + timedelta(microseconds=made)
            batch.append(
                emit.Event(account_id, url, "message.status", data, at, mid, mid, sequence)
            )
            made += 1
    async with sessionmaker.begin() as session:
        for start in range(0, len(batch), 1000):
            await emit.store(session, batch[start : start + 1000])


async def _delivered(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).where(WebhookDelivery.status == "Delivered")
        return int(await session.scalar(statement) or 0)


def _body(n: int) -> bytes:
    data = {"messageId": new_id(), "status": "Sent", "sequence": 1, "channel": "RCS"}
    return Due(new_id(), "message.status", "k", 1, data, SystemClock().now()).body()


async def _bare(client: httpx.AsyncClient, url: str, bodies: list[bytes]) -> None:
    """The plain loop: IN_FLIGHT workers POSTing the bodies one after another."""
    queue = iter(bodies)
    headers = {"content-type": "application/json"}

    async def worker() -> None:
        for body in queue:
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 204:
                raise BenchError(f"receiver answered {response.status_code}")

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
