"""POST /v3/conversations on PostgreSQL: TLS, API key, rate limit (Redis), validation and a
durable commit per send, against a bare FastAPI JSON echo served the same way
(DESIGN.md section 5: >= 1,500 req/s and >= 50% of bare).

Both servers get the same requests from the same wrk script (wrk_send.lua): a JSON send to a
random 4670xxxxxxx number each. The servers run one after the other, rcsgate first (it makes
the certificate both use). Afterwards the messages in the database are counted: every send
wrk saw acknowledged must be there (at most the requests cut off at the end of each wrk run
may be there too, unacknowledged).

Bench setup (deployment.py, not measured): a fresh database, an account with a rate limit it
never reaches, a brand and an agent created through the API and marked Launched in the
database. "p99 < 50 ms at 1,000 req/s offered" needs an open-loop load and is not measured
here; the latencies shown are closed-loop, under full load, for context.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.core import SERVER_WORKERS, WRK_THREADS, BenchError, BenchResult, Measure, Options
from bench.database import Database, fetchval, fresh_database, run
from bench.deployment import AGENT, BRAND, Deployment, expect, rcsgate_on
from bench.provision import rcsgate_tls
from bench.registry import benchmark
from bench.servers import Server, free_port, running, uvicorn_command
from bench.wrk import WrkRun, run_wrk

PATH = "/v3/conversations"
BARE_PATH = "/v3/echo"
TARGET_RATIO = 0.50
TARGET_REQUESTS_PER_SECOND = 1_500.0
SCRIPT = Path(__file__).with_name("wrk_send.lua")
# The shape wrk_send.lua sends (its recipient varies).
SEND = {"brand": BRAND, "agent": AGENT, "recipient": "46700123456", "content": "Hej!"}


@dataclass(frozen=True)
class Load:
    """The warm-up (if any) and the measured wrk runs against one server."""

    warmup: WrkRun | None
    measured: WrkRun

    @property
    def runs(self) -> int:
        return 1 if self.warmup is None else 2

    @property
    def acknowledged(self) -> int:
        """Responses wrk received, all 2xx (run_wrk fails on anything else)."""
        warmup = self.warmup.requests if self.warmup else 0
        return int(warmup + self.measured.requests)


@benchmark(
    "send_accept",
    "POST /v3/conversations on PostgreSQL (TLS + key + rate limit + commit) vs bare echo",
)
def send_accept(options: Options) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp:
        data_dir = Path(tmp)
        with fresh_database("send_accept") as database:
            with rcsgate_on(database, data_dir) as deployment:
                _check_rcsgate_sends(deployment)
                rcsgate = _load(deployment.server, PATH, options, deployment.auth)
            # After the server stopped: every request it had begun has finished.
            stored = int(run(fetchval(database, "SELECT count(*) FROM messages")))
        bare = _measure_bare(data_dir, options)
    checked = 1  # the one _check_rcsgate_sends made
    _check_nothing_lost(rcsgate, checked, stored, options)
    return _result(rcsgate, bare, stored, options, database)


def _check_rcsgate_sends(deployment: Deployment) -> None:
    """Before measuring: a send is accepted as a new conversation's message."""
    with deployment.client() as client:
        message = deployment.expect(client.post(PATH, json=SEND), 201).json()
    if not message.get("id") or not message.get("conversationId"):
        raise deployment.server.fail(f"POST {PATH} answered no message: {message}")


def _measure_bare(data_dir: Path, options: Options) -> Load:
    tls = rcsgate_tls(data_dir)
    port = free_port()
    command = uvicorn_command("bench.bare_app:app", port, tls)
    with running("bare", command, port=port, tls=tls, log_dir=data_dir) as server:
        response = httpx.post(server.base_url + BARE_PATH, json=SEND, verify=tls.client_context())
        if expect(server, response, 200).json() != SEND:
            raise server.fail(f"POST {BARE_PATH} did not echo the body: {response.text[:500]}")
        return _load(server, BARE_PATH, options, {})


def _load(server: Server, path: str, options: Options, headers: dict[str, str]) -> Load:
    """A discarded warm-up, then the measured run; a server that died says why."""
    url = server.base_url + path
    try:
        warmup = _wrk(url, options.warmup, options, headers) if options.warmup > 0 else None
        return Load(warmup, _wrk(url, options.duration, options, headers))
    except BenchError as error:
        raise server.fail(str(error)) from error


def _wrk(url: str, duration: int, options: Options, headers: dict[str, str]) -> WrkRun:
    return run_wrk(
        url, duration=duration, connections=options.connections, headers=headers, script=SCRIPT
    )


def _check_nothing_lost(load: Load, checked: int, stored: int, options: Options) -> None:
    """Every acknowledged send is stored; only requests cut off when wrk stopped may add."""
    acknowledged = load.acknowledged + checked
    cut_off = load.runs * options.connections
    if stored < acknowledged:
        raise BenchError(
            f"{acknowledged} sends were acknowledged with 2xx but only {stored} messages "
            "are in the database: acknowledged sends were lost"
        )
    if stored > acknowledged + cut_off:
        raise BenchError(
            f"{stored} messages are in the database for {acknowledged} acknowledged sends; "
            f"more than the {cut_off} wrk may have cut off"
        )


def _result(
    rcsgate: Load, bare: Load, stored: int, options: Options, database: Database
) -> BenchResult:
    figure, baseline = rcsgate.measured, bare.measured
    return BenchResult(
        name="send_accept",
        title=f"POST {PATH} (PostgreSQL, durable) vs a bare FastAPI JSON echo (POST {BARE_PATH})",
        figure_name="rcsgate",
        baseline_name="bare FastAPI",
        setup=f"{options.describe()}; {database.describe()}",
        measures=(
            Measure(
                "throughput",
                "req/s",
                figure.requests_per_second,
                baseline.requests_per_second,
                target=TARGET_RATIO,
            ),
            Measure.absolute(
                "throughput vs DESIGN.md floor",
                "req/s",
                figure.requests_per_second,
                TARGET_REQUESTS_PER_SECOND,
                higher_is_better=True,
            ),
            _latency("latency p50", figure.latency_p50_us, baseline.latency_p50_us),
            _latency("latency p99", figure.latency_p99_us, baseline.latency_p99_us),
        ),
        details={
            "rcsgate_requests": int(figure.requests),
            "bare_requests": int(baseline.requests),
            "rcsgate_acknowledged_incl_warmup": rcsgate.acknowledged,
            "messages_stored": stored,
            "database": database.name,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "server_workers": SERVER_WORKERS,
            "wrk_threads": WRK_THREADS,
        },
    )


def _latency(label: str, rcsgate_us: float, bare_us: float) -> Measure:
    """Closed-loop latency under full load: context for the throughput, with no target."""
    return Measure(label, "ms", rcsgate_us / 1000, bare_us / 1000, higher_is_better=False)
