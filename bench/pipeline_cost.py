"""What the pipeline costs per message, in CPU, whatever else the machine is doing: 10,000
messages in 5 bundles, each followed to Read (DESIGN.md section 5: rcsgate's processes +
PostgreSQL <= 1.5 ms of CPU per message that reached Read, the simulator's counted apart).

Layout: `rcsgate serve --no-simulator` (the API, callbacks and the dispatch relay in one
process, one uvicorn worker, TLS) on a fresh PostgreSQL database with rate limits in Redis,
and `rcsgate simulator` in a process of its own (pipeline.py's `serve` mode). Its phones
deliver after 0.2 s and read after 0.5 s; every recipient is a fresh number it gives RCS.

The measured stretch runs from just before the first bundle is posted until the 10,000th
message is Read: a fixed amount of work, so a backlog costs time but not CPU, and other work on
the machine slows the run down without changing the CPU it took. CPU per process (bench/cpu.py
says what counts as PostgreSQL's) is divided by the messages that reached Read. Wall time and
messages per second are shown for context only: they measure the machine as much as rcsgate.

rcsgate's background loops (relay, webhooks, caches) poll while idle, so a run that a busy
machine stretches costs more CPU per message. Their idle rate is read over IDLE_SECONDS before
the bundles are posted, and the figure is shown again net of it (idle rate x wall time).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx

from bench.core import BenchResult, Measure, Options
from bench.cpu import POSTGRES, POSTGRES_SHARED
from bench.database import connect, run
from bench.pipeline import (
    AGENT,
    BRAND,
    CLIENT_TIMEOUT,
    CONTENT,
    COST_ROLES,
    TARGET_CPU_MS,
    Rig,
    Snapshot,
    Window,
    _key,
    cost_measures,
    rcs_numbers,
    rig,
    snapshot,
)
from bench.registry import benchmark

MESSAGES = 10_000
BUNDLES = 5
MODE = "serve"
POLL_EVERY = 0.5
READ_TIMEOUT = 300.0  # at 100 msg/s (a very busy machine) it takes 100 s
SETTLE_TIMEOUT = 30.0
FINAL = ("Read", "Failed", "Expired", "Cancelled")
IDLE_SECONDS = 3.0
IDLE_LABELS = {POSTGRES: "PostgreSQL"}


@benchmark(
    "pipeline_cost",
    f"CPU per message: {MESSAGES:,} messages in {BUNDLES} bundles to Read, serve + simulator",
)
def pipeline_cost(options: Options) -> BenchResult:
    with (
        tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp,
        rig(MODE, Path(tmp)) as deployment,
    ):
        window, idle = run(_measure(deployment))
        deployment.check_alive()
        database = deployment.database.name
    return _result(window, idle, database)


async def _measure(rig: Rig) -> tuple[Window, dict[str, float]]:
    connection = await connect(rig.database)
    try:
        await _settle(connection, rig)
        idle = await _idle(connection, rig)
        numbers = rcs_numbers()
        next(numbers)  # the one the rig's first message went to
        _progress(f"posting {BUNDLES} bundles of {MESSAGES // BUNDLES:,}, then waiting for Read")
        start = await snapshot(connection, rig)
        await _post_bundles(rig, numbers)
        backlog: list[tuple[float, int]] = []
        end = await _until_read(connection, rig, start, backlog)
    finally:
        await connection.close()
    return Window(start, end, tuple(backlog)), idle


async def _idle(connection: asyncpg.Connection, rig: Rig) -> dict[str, float]:
    """CPU seconds per second of each process with nothing to do (rcsgate's loops poll)."""
    before = await snapshot(connection, rig)
    await asyncio.sleep(IDLE_SECONDS)
    after = await snapshot(connection, rig)
    seconds = after.monotonic - before.monotonic
    return {role: (after.cpu[role] - before.cpu.get(role, 0.0)) / seconds for role in after.cpu}


async def _settle(connection: asyncpg.Connection, rig: Rig) -> None:
    """The rig's first message reaches Read before the start, so its receipts are not
    measured and all the work measured is the bundles'."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while await _unfinished(connection, rig):
        if time.monotonic() > deadline:
            raise rig.fail("the rig's first message did not reach a final status")
        await asyncio.sleep(0.1)


async def _unfinished(connection: asyncpg.Connection, rig: Rig) -> int:
    found = await connection.fetchval(
        "SELECT count(*) FROM messages WHERE account_id = $1 AND status <> ALL($2::text[])",
        rig.account_id,
        list(FINAL),
    )
    return int(found)


async def _post_bundles(rig: Rig, numbers: Iterator[str]) -> None:
    """One after another, each answered 201 (stored) before the next is posted."""
    async with httpx.AsyncClient(
        base_url=rig.server.base_url,
        headers=rig.auth,
        verify=rig.tls.client_context(),
        timeout=CLIENT_TIMEOUT,
    ) as client:
        for _ in range(BUNDLES):
            recipients = [next(numbers) for _ in range(MESSAGES // BUNDLES)]
            body = {"brand": BRAND, "agent": AGENT, "recipients": recipients, "content": CONTENT}
            response = await client.post("/v3/bundles", json=body)
            if response.status_code != 201:
                raise rig.fail(f"POST /v3/bundles answered {response.status_code}: {response.text}")


async def _until_read(
    connection: asyncpg.Connection, rig: Rig, start: Snapshot, backlog: list[tuple[float, int]]
) -> Snapshot:
    """Polls until every message is Read; a message that ends otherwise fails the run."""
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        now = await snapshot(connection, rig)
        backlog.append((now.monotonic, now.count("Queued")))
        if now.read - start.read >= MESSAGES:
            return now
        ended = now.total - now.read - now.count("Queued", "Sent", "Delivered")
        if ended > start.total - start.read:
            raise rig.fail(f"messages ended otherwise than Read: {now.counts}")
        if time.monotonic() > deadline:
            raise rig.fail(
                f"{now.read - start.read:,} of {MESSAGES:,} messages reached Read in "
                f"{READ_TIMEOUT:g} s: {now.counts}"
            )
        rig.check_alive()
        await asyncio.sleep(POLL_EVERY)


def _progress(text: str) -> None:
    print(f"bench: pipeline_cost: {text}...", file=sys.stderr, flush=True)


def _result(window: Window, idle: dict[str, float], database: str) -> BenchResult:
    per_read = window.cpu_per_read_ms()
    # What the processes would have burnt idle over the same wall time, per message.
    idle_ms = {
        role: 1000 * idle.get(role, 0.0) * window.seconds / window.reads for role in per_read
    }
    net = sum(per_read[role] - idle_ms[role] for role in COST_ROLES if role in per_read)
    idle_pct = ", ".join(
        f"{IDLE_LABELS.get(role, role)} {100 * idle[role]:.1f}%"
        for role in COST_ROLES
        if role in idle
    )
    details: dict[str, float | int | str] = {
        "messages": MESSAGES,
        "bundles": BUNDLES,
        "reached_read": window.reads,
        "wall_s": round(window.seconds, 2),
        "read_per_s": round(window.reads / window.seconds, 1),
        "queued_max": window.backlog_max,
        "database": database,
        **{f"ms_cpu_per_read_{_key(role)}": round(ms, 3) for role, ms in per_read.items()},
        **{f"idle_cpu_pct_{_key(role)}": round(100 * rate, 1) for role, rate in idle.items()},
        "ms_cpu_per_read_rcsgate_and_postgresql_net_of_idle": round(net, 3),
        **{
            f"cpu_s_{_key(role)}": round(ms * window.reads / 1000, 2)
            for role, ms in per_read.items()
        },
    }
    costs = cost_measures(per_read, "CPU per msg reached Read:")
    return BenchResult(
        name="pipeline_cost",
        title=f"{MESSAGES:,} messages in {BUNDLES} bundles to Read: CPU per message, by process",
        figure_name="rcsgate",
        baseline_name="budget",
        setup=(
            "`rcsgate serve --no-simulator` (dispatch inside, 1 uvicorn worker, TLS) + "
            "`rcsgate simulator` apart, PostgreSQL (fresh) + Redis; from the first bundle "
            f"posted to the last message Read: {window.seconds:.1f} s, "
            f"{window.reads / window.seconds:,.0f} msg/s (context: it measures the machine too)"
        ),
        measures=(
            costs[0],
            Measure(
                f"    net of idle CPU ({idle_pct} of a core)",
                "ms",
                net,
                TARGET_CPU_MS,
                higher_is_better=False,
                fixed=True,
            ),
            *costs[1:],
            Measure(
                "    PostgreSQL's shared processes (all databases)",
                "ms",
                per_read[POSTGRES_SHARED],
                TARGET_CPU_MS,
                higher_is_better=False,
                fixed=True,
            ),
        ),
        details=details,
    )
