"""GET /v3/account through TLS, API-key auth and the per-account rate limit, against a bare
FastAPI endpoint served the same way (DESIGN.md section 5: rcsgate >= 60% of bare).

The two servers run one after the other, never together, so each has the server core to
itself; rcsgate goes first because it makes the certificate both use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from bench.core import SERVER_WORKERS, WRK_THREADS, BenchError, BenchResult, Measure, Options
from bench.provision import SERVER_ENV, Credentials, provision_account, rcsgate_tls
from bench.registry import benchmark
from bench.servers import Server, Tls, free_port, rcsgate_command, running, uvicorn_command
from bench.wrk import WrkRun, run_wrk

PATH = "/v3/account"
TARGET_RATIO = 0.60
# High enough that the limiter is consulted on every request but never refuses one.
RATE_LIMIT = 1_000_000


@benchmark("account_get", "GET /v3/account (TLS + API key + rate limit) vs bare FastAPI")
def account_get(options: Options) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="rcsgate-bench-") as tmp:
        data_dir = Path(tmp)
        credentials = provision_account(data_dir, rate_limit=RATE_LIMIT)
        tls = rcsgate_tls(data_dir)
        rcsgate = _measure_rcsgate(data_dir, tls, credentials, options)
        bare = _measure_bare(data_dir, tls, options)
    return _result(rcsgate, bare, options)


def _measure_rcsgate(
    data_dir: Path, tls: Tls, credentials: Credentials, options: Options
) -> WrkRun:
    port = free_port()
    command = rcsgate_command(data_dir, port)
    with running(
        "rcsgate", command, port=port, tls=tls, log_dir=data_dir, env=SERVER_ENV
    ) as server:
        auth = {"Authorization": f"Bearer {credentials.token}"}
        _check_rcsgate_answers(server, tls, auth, credentials.account_id)
        return _load(server, options, auth)


def _measure_bare(data_dir: Path, tls: Tls, options: Options) -> WrkRun:
    port = free_port()
    command = uvicorn_command("bench.bare_app:app", port, tls)
    with running("bare", command, port=port, tls=tls, log_dir=data_dir) as server:
        _check_answers(server, tls, {})
        return _load(server, options, {})


def _load(server: Server, options: Options, headers: dict[str, str]) -> WrkRun:
    """A discarded warm-up, then the measured run; a server that died says why."""
    url = server.base_url + PATH
    try:
        if options.warmup > 0:
            run_wrk(url, duration=options.warmup, connections=options.connections, headers=headers)
        return run_wrk(
            url, duration=options.duration, connections=options.connections, headers=headers
        )
    except BenchError as error:
        raise server.fail(str(error)) from error


def _check_rcsgate_answers(server: Server, tls: Tls, auth: dict[str, str], account_id: str) -> None:
    """Before measuring: the key works, the rate limit ran, and it is the bench account."""
    response = _check_answers(server, tls, auth)
    if response.headers.get("ratelimit-limit") != str(RATE_LIMIT):
        raise server.fail(
            f"GET {PATH} has no RateLimit-Limit: {RATE_LIMIT} header: {response.headers}"
        )
    if response.json().get("id") != account_id:
        raise server.fail(f"GET {PATH} answered another account: {response.text}")


def _check_answers(server: Server, tls: Tls, headers: dict[str, str]) -> httpx.Response:
    response = httpx.get(server.base_url + PATH, headers=headers, verify=tls.client_context())
    if response.status_code != 200:
        raise server.fail(f"GET {PATH} answered {response.status_code}: {response.text[:500]}")
    return response


def _result(rcsgate: WrkRun, bare: WrkRun, options: Options) -> BenchResult:
    return BenchResult(
        name="account_get",
        title=f"GET {PATH}, TLS + API key + rate limit vs a bare FastAPI JSON endpoint",
        figure_name="rcsgate",
        baseline_name="bare FastAPI",
        setup=options.describe(),
        measures=(
            Measure(
                "throughput",
                "req/s",
                rcsgate.requests_per_second,
                bare.requests_per_second,
                target=TARGET_RATIO,
            ),
            _latency("latency p50", rcsgate.latency_p50_us, bare.latency_p50_us),
            _latency("latency p99", rcsgate.latency_p99_us, bare.latency_p99_us),
        ),
        details={
            "rcsgate_requests": int(rcsgate.requests),
            "bare_requests": int(bare.requests),
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
