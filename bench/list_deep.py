"""GET /v3/messages deep in 1,000,000 messages on PostgreSQL: the page at start=900000 against
the first page, same server, same run (DESIGN.md section 5: p50 <= 20 ms each, deep page
<= 3 x first).

Each page is fetched sequentially over one keep-alive TLS connection (httpx), a few discarded
warm-ups first; latency is the client's, request sent to body read. Every answer is checked:
200, a full page, X-Total-Count 1,000,000, and the page starts at the seeded message it must.

Bench setup (not measured): a fresh database, an account with a rate limit it never reaches,
a brand and an agent created through the API and marked Launched in the database
(deployment.py); then 1,000,000 outbound text messages of that account, brand and agent are
written straight into the `messages` table with COPY (time-ordered ids from rcsgate's own
`new_id`, 2.5 s apart over the month before yesterday: a busy account's history), and VACUUM
ANALYZE runs. The warm-ups include the first visit of each page, which pays a full count and
index walk once; rcsgate then serves settled history from its anchors (kit/settled.py).
That takes about half a minute. --duration and --warmup do not apply: the sample counts are
fixed (SAMPLES, WARMUPS).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from bench.core import BenchResult, Measure, Options
from bench.database import Database, connect, fresh_database, run
from bench.deployment import Deployment, SenderIds, rcsgate_on
from bench.registry import benchmark
from rcsgate.kit.ids import new_id

PATH = "/v3/messages"
MESSAGES = 1_000_000
LIMIT = 50
FIRST_START = 0
DEEP_START = 900_000
WARMUPS = 3
SAMPLES = 30
TARGET_P50_MS = 20.0
TARGET_DEEP_RATIO = 3.0
FIRST_NUMBER = 46_700_000_000
CONTENT = json.dumps({"type": "Text", "content": "hej", "trafficType": "Transaction"})
SPACING_MS = 2_500
COLUMNS = (
    "id", "account_id", "brand_id", "agent_id", "recipient", "direction", "type", "content",
    "status", "channel", "price", "currency", "segments", "created_at", "modified_at",
)  # fmt: skip


@dataclass(frozen=True)
class Latencies:
    start: int
    samples_ms: tuple[float, ...]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.samples_ms, n=10)[-1]


@benchmark("list_deep", "GET /v3/messages at start 0 and 900,000 of 1,000,000 (PostgreSQL)")
def list_deep(_options: Options) -> BenchResult:
    with (
        tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp,
        fresh_database("list_deep") as database,
        rcsgate_on(database, Path(tmp)) as deployment,
    ):
        print(f"bench: seeding {MESSAGES:,} messages...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        seeded = run(_seed(database, deployment.sender))
        seed_seconds = time.perf_counter() - began
        with deployment.client() as client:
            first = _latencies(deployment, client, FIRST_START, seeded[FIRST_START])
            deep = _latencies(deployment, client, DEEP_START, seeded[DEEP_START])
    return _result(first, deep, database, seed_seconds)


async def _seed(database: Database, sender: SenderIds) -> dict[int, str]:
    """Writes the messages; returns the ids at FIRST_START and DEEP_START, to check pages."""
    checked: dict[int, str] = {}
    connection = await connect(database)
    try:
        await connection.copy_records_to_table(
            "messages", records=_messages(sender, checked), columns=COLUMNS
        )
        await connection.execute("VACUUM ANALYZE messages")
    finally:
        await connection.close()
    return checked


def _messages(sender: SenderIds, checked: dict[int, str]) -> Iterator[tuple[object, ...]]:
    """Oldest first, SPACING_MS apart, ending a day ago."""
    first_ms = int(time.time() * 1000) - 86_400_000 - MESSAGES * SPACING_MS
    price = Decimal("0.45")
    for index in range(MESSAGES):
        ms = first_ms + index * SPACING_MS
        message_id = new_id(ms)
        if index in (FIRST_START, DEEP_START):
            checked[index] = message_id
        created = datetime.fromtimestamp(ms / 1000, UTC)
        yield (
            message_id, sender.account_id, sender.brand_id, sender.agent_id,
            str(FIRST_NUMBER + index), "Outbound", "Text", CONTENT,
            "Queued", "RCS", price, "SEK", 1, created, created,
        )  # fmt: skip


def _latencies(
    deployment: Deployment, client: httpx.Client, start: int, first_id: str
) -> Latencies:
    for _ in range(WARMUPS):
        _get_page(deployment, client, start, first_id)
    samples = []
    for _ in range(SAMPLES):
        began = time.perf_counter()
        _get_page(deployment, client, start, first_id)
        samples.append((time.perf_counter() - began) * 1000)
    return Latencies(start, tuple(samples))


def _get_page(deployment: Deployment, client: httpx.Client, start: int, first_id: str) -> None:
    response = client.get(PATH, params={"start": start, "limit": LIMIT})
    page = deployment.expect(response, 200).json()
    total = response.headers.get("x-total-count")
    if total != str(MESSAGES) or len(page) != LIMIT or page[0].get("id") != first_id:
        raise deployment.server.fail(
            f"GET {PATH}?start={start}&limit={LIMIT}: X-Total-Count {total}, {len(page)} "
            f"items, first {page[0].get('id') if page else None}; expected {MESSAGES}, "
            f"{LIMIT}, {first_id}"
        )


def _result(
    first: Latencies, deep: Latencies, database: Database, seed_seconds: float
) -> BenchResult:
    return BenchResult(
        name="list_deep",
        title=f"GET {PATH}?limit={LIMIT} at start={DEEP_START:,} vs start=0, {MESSAGES:,} messages",
        figure_name="rcsgate",
        baseline_name="compared with",
        setup=(
            f"1 uvicorn worker, {SAMPLES} sequential GETs per page over one keep-alive TLS "
            f"connection after {WARMUPS} warm-ups; {database.describe()}, "
            f"{MESSAGES:,} messages (COPY + VACUUM ANALYZE)"
        ),
        measures=(
            Measure(
                f"latency p50, start={DEEP_START} vs start={FIRST_START}",
                "ms",
                deep.p50,
                first.p50,
                target=TARGET_DEEP_RATIO,
                higher_is_better=False,
            ),
            _absolute_p50(f"start={FIRST_START}", first),
            _absolute_p50(f"start={DEEP_START}", deep),
        ),
        details={
            "first_p90_ms": round(first.p90, 2),
            "deep_p90_ms": round(deep.p90, 2),
            "first_max_ms": round(max(first.samples_ms), 2),
            "deep_max_ms": round(max(deep.samples_ms), 2),
            "messages": MESSAGES,
            "samples": SAMPLES,
            "warmups": WARMUPS,
            "seed_s": round(seed_seconds, 1),
            "database": database.name,
        },
    )


def _absolute_p50(label: str, latencies: Latencies) -> Measure:
    return Measure.absolute(
        f"latency p50, {label} vs limit",
        "ms",
        latencies.p50,
        TARGET_P50_MS,
        higher_is_better=False,
    )
