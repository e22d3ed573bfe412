"""The load generator: Debian's `wrk`, installed on first use, its summary read as JSON.

wrk rather than a Python client: a Python load generator on a 2-core machine saturates
long before uvicorn does, and would measure itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.core import WRK_THREADS, BenchError, die_with_parent

LUA_SCRIPT = Path(__file__).with_name("wrk_report.lua")
JSON_MARKER = "BENCH_WRK_JSON "
APT_INSTALL = (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"])


@dataclass(frozen=True)
class WrkRun:
    """wrk's `done()` summary; Lua has one number type, so every field is a float."""

    requests: float
    duration_us: float
    bytes: float
    connect_errors: float
    read_errors: float
    write_errors: float
    status_errors: float
    timeouts: float
    latency_mean_us: float
    latency_p50_us: float
    latency_p90_us: float
    latency_p99_us: float
    latency_max_us: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / (self.duration_us / 1e6)

    @property
    def socket_errors(self) -> float:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing (needs root, as here)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError(
            "wrk is missing; install it: sudo apt-get update && sudo apt-get install -y wrk"
        )
    print(
        "bench: wrk is missing; installing Debian's package (apt-get install wrk)...",
        file=sys.stderr,
    )
    for command in APT_INSTALL:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}")
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk, but it is not on PATH")
    return found


def run_wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    headers: dict[str, str] | None = None,
    script: Path = LUA_SCRIPT,
) -> WrkRun:
    """One closed-loop run; fails if any response was not 2xx/3xx or any socket failed.

    Another `script` must print the same summary line: load wrk_report.lua (see wrk_send.lua).
    """
    command = [
        ensure_wrk(),
        f"--threads={WRK_THREADS}",
        f"--connections={connections}",
        f"--duration={duration}s",
        f"--script={script}",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    output = _run(command, timeout=duration + 30)
    run = parse_output(output)
    _check_clean(run, url, output)
    return run


def parse_output(output: str) -> WrkRun:
    for line in output.splitlines():
        if line.startswith(JSON_MARKER):
            fields = json.loads(line.removeprefix(JSON_MARKER))
            return WrkRun(**{name: float(value) for name, value in fields.items()})
    raise BenchError(f"wrk printed no summary line ({JSON_MARKER.strip()}):\n{output}")


def _run(command: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish within {timeout:g} s") from error
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def _check_clean(run: WrkRun, url: str, output: str) -> None:
    """A run that measured 401s, 429s or broken connections measured the wrong thing."""
    if run.requests == 0:
        raise BenchError(f"wrk made no request to {url}:\n{output}")
    if run.status_errors or "Non-2xx or 3xx responses" in output:
        raise BenchError(
            f"{run.status_errors:.0f} of {run.requests:.0f} responses from {url} "
            f"were not 2xx/3xx:\n{output}"
        )
    if run.socket_errors:
        raise BenchError(f"wrk saw socket errors against {url}:\n{output}")
