"""One POST /v3/bundles with 100,000 distinct recipients on PostgreSQL: how long until its
201 (which comes only once every message is stored), and how much the server's memory grew
(DESIGN.md section 5: <= 4 s, RSS growth <= 150 MB).

The baseline, in the same run and the same database: asyncpg's COPY of 100,000 rows shaped
exactly like the ones rcsgate stored (its first row as a template, fresh ids), the floor any
implementation storing them faces. It runs after rcsgate's bundle, with the server stopped,
into the same table (then holding those 100,000 rows too).

Memory: the server is one process (one uvicorn worker, no supervisor). Its peak-RSS mark
(VmHWM) is reset just before the request (/proc/<pid>/clear_refs), and the growth is that
peak after the request minus VmRSS before it. A small bundle first warms the code paths and
the connection pool, so the growth is the big bundle's own.

Bench setup (deployment.py, not measured): a fresh database, an account with a rate limit it
never reaches, a brand and an agent created through the API and marked Launched in the
database. --duration does not apply (one request); --warmup 0 skips the warm-up bundle.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.core import BenchError, BenchResult, Measure, Options
from bench.database import Database, connect, fresh_database, run
from bench.deployment import AGENT, BRAND, Deployment, rcsgate_on
from bench.registry import benchmark
from rcsgate.kit.ids import new_id

PATH = "/v3/bundles"
RECIPIENTS = 100_000
WARMUP_RECIPIENTS = 1_000
FIRST_NUMBER = 46_700_000_000  # 4670xxxxxxx: valid Swedish mobile numbers
TARGET_SECONDS = 4.0
TARGET_RSS_GROWTH_MB = 150.0
KB = 1024
MB = 1_000_000


@dataclass(frozen=True)
class BundleRun:
    bundle_id: str
    seconds: float
    body_bytes: int
    rss_before_kb: int
    rss_peak_kb: int

    @property
    def rss_growth_mb(self) -> float:
        return (self.rss_peak_kb - self.rss_before_kb) * KB / MB


@benchmark("bulk_bundle", "one 100,000-recipient POST /v3/bundles on PostgreSQL vs asyncpg COPY")
def bulk_bundle(options: Options) -> BenchResult:
    with (
        tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp,
        fresh_database("bulk_bundle") as database,
    ):
        with rcsgate_on(database, Path(tmp)) as deployment:
            bundle = _send_bundle(deployment, warm_up=options.warmup > 0)
            _check_stored(deployment, bundle.bundle_id)
        copy_seconds = run(_copy_floor(database, bundle.bundle_id))
    return _result(bundle, copy_seconds, database, warmed_up=options.warmup > 0)


def _send_bundle(deployment: Deployment, *, warm_up: bool) -> BundleRun:
    pid = deployment.server.process.pid
    _check_single_process(deployment, pid)
    body = _body(RECIPIENTS)
    with deployment.client() as client:
        if warm_up:
            _post(deployment, client, _body(WARMUP_RECIPIENTS), WARMUP_RECIPIENTS)
        _reset_peak_rss(pid)
        before = _status_kb(pid, "VmRSS")
        started = time.perf_counter()
        bundle_id = _post(deployment, client, body, RECIPIENTS)
        seconds = time.perf_counter() - started
        peak = _status_kb(pid, "VmHWM")
    return BundleRun(bundle_id, seconds, len(body), before, peak)


def _body(count: int) -> bytes:
    """Encoded before the clock starts: the client's JSON encoding is not rcsgate's time."""
    recipients = [str(FIRST_NUMBER + index) for index in range(count)]
    bundle = {"brand": BRAND, "agent": AGENT, "recipients": recipients, "content": "Rea!"}
    return json.dumps(bundle).encode()


def _post(deployment: Deployment, client: httpx.Client, body: bytes, count: int) -> str:
    response = client.post(PATH, content=body, headers={"Content-Type": "application/json"})
    bundle = deployment.expect(response, 201).json()
    if bundle.get("recipientCount") != count or not bundle.get("id"):
        raise deployment.server.fail(f"POST {PATH} answered {count} recipients with {bundle}")
    return str(bundle["id"])


def _check_stored(deployment: Deployment, bundle_id: str) -> None:
    with deployment.client() as client:
        response = client.get(f"{PATH}/{bundle_id}/messages", params={"limit": 1})
    total = deployment.expect(response, 200).headers.get("x-total-count")
    if total != str(RECIPIENTS):
        raise deployment.server.fail(
            f"GET {PATH}/{bundle_id}/messages has X-Total-Count {total}, not {RECIPIENTS}"
        )


async def _copy_floor(database: Database, bundle_id: str) -> float:
    """Seconds asyncpg's COPY takes to store the same rows; building them is not timed."""
    connection = await connect(database)
    try:
        template = await connection.fetchrow(
            "SELECT * FROM messages WHERE bundle_id = $1 LIMIT 1", bundle_id
        )
        if template is None:
            raise BenchError(f"bundle {bundle_id} has no message in {database.name}")
        columns = list(template.keys())
        records = [_like(template, columns, FIRST_NUMBER + index) for index in range(RECIPIENTS)]
        started = time.perf_counter()
        await connection.copy_records_to_table("messages", records=records, columns=columns)
        return time.perf_counter() - started
    finally:
        await connection.close()


def _like(template: asyncpg.Record, columns: list[str], number: int) -> tuple[object, ...]:
    fresh = {"id": new_id(), "recipient": str(number)}
    return tuple(fresh.get(column, template[column]) for column in columns)


def _check_single_process(deployment: Deployment, pid: int) -> None:
    """The RSS read is the server's only if it forked no worker."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists() and children.read_text().strip():
        raise deployment.server.fail(f"server {pid} has child processes; its RSS is not all")


def _reset_peak_rss(pid: int) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as error:
        raise BenchError(f"cannot reset the peak RSS of process {pid}: {error}") from error


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])  # "VmRSS:    123456 kB"
    raise BenchError(f"/proc/{pid}/status has no {field}")


def _result(
    bundle: BundleRun, copy_seconds: float, database: Database, *, warmed_up: bool
) -> BenchResult:
    warm_up = f"after a {WARMUP_RECIPIENTS:,}-recipient warm-up bundle" if warmed_up else "cold"
    return BenchResult(
        name="bulk_bundle",
        title=f"POST {PATH} with {RECIPIENTS:,} recipients until its 201 vs asyncpg COPY",
        figure_name="rcsgate",
        baseline_name="asyncpg COPY",
        setup=f"1 uvicorn worker, one request over TLS {warm_up}; {database.describe()}",
        measures=(
            Measure(
                f"store {RECIPIENTS:,} messages",
                "s",
                bundle.seconds,
                copy_seconds,
                higher_is_better=False,
            ),
            Measure.absolute(
                "request vs DESIGN.md limit",
                "s",
                bundle.seconds,
                TARGET_SECONDS,
                higher_is_better=False,
            ),
            Measure.absolute(
                "server RSS growth vs limit",
                "MB",
                bundle.rss_growth_mb,
                TARGET_RSS_GROWTH_MB,
                higher_is_better=False,
            ),
        ),
        details={
            "bundle_id": bundle.bundle_id,
            "recipients": RECIPIENTS,
            "request_body_bytes": bundle.body_bytes,
            "rss_before_mb": round(bundle.rss_before_kb * KB / MB, 1),
            "rss_peak_mb": round(bundle.rss_peak_kb * KB / MB, 1),
            "database": database.name,
        },
    )
