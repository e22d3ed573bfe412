"""Server subprocesses: free ports, start, wait until ready, and always stop.

Each server runs in its own session (process group), so stopping it also stops anything it
forked; and it dies with the harness (`die_with_parent`), even on a `kill -9` of it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.core import PROJECT_ROOT, SERVER_WORKERS, BenchError, die_with_parent

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def fail(self, message: str) -> BenchError:
        """An error that carries the server's last log lines, which usually say why."""
        return BenchError(
            f"{self.name}: {message}\n--- {self.log_path} (tail) ---\n{self.log_tail()}"
        )


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """Trusts exactly this self-signed certificate, which names 127.0.0.1."""
        return ssl.create_default_context(cafile=str(self.cert))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def venv_script(name: str) -> str:
    """A console script beside the running interpreter, so `make bench` uses .venv's."""
    return str(Path(sys.executable).parent / name)


def rcsgate_command(data_dir: Path, port: int) -> list[str]:
    return [
        venv_script("rcsgate"),
        "serve",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--data-dir={data_dir}",
        f"--workers={SERVER_WORKERS}",
        "--no-seed",
    ]


def uvicorn_command(app: str, port: int, tls: Tls | None) -> list[str]:
    """The options `rcsgate serve` gives uvicorn.run, so only the app differs (no TLS:
    plain HTTP)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={SERVER_WORKERS}",
        "--no-access-log",
        "--no-server-header",
        "--no-proxy-headers",
        "--log-level=warning",
    ]
    if tls is not None:
        command += [f"--ssl-certfile={tls.cert}", f"--ssl-keyfile={tls.key}"]
    return command


@contextlib.contextmanager
def running(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    tls: Tls | None,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """A started server, ready on https://127.0.0.1:<port> (http:// without `tls`); stopped
    on leaving, error or not."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    scheme = "https" if tls is not None else "http"
    server = Server(name, f"{scheme}://127.0.0.1:{port}", process, log_path)
    try:
        wait_ready(server, tls)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, tls: Tls | None, timeout: float = READY_TIMEOUT) -> None:
    """Polls /healthz until it answers 200; a fixed sleep would be too short or too slow."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise server.fail(f"exited with code {server.process.returncode} before it was ready")
        # `rcsgate serve` makes its certificate just before it starts listening.
        if tls is None or tls.cert.exists():
            try:
                verify = tls.client_context() if tls is not None else True
                response = httpx.get(f"{server.base_url}/healthz", verify=verify)
                if response.status_code == 200:
                    return
                last_error = f"/healthz answered {response.status_code}: {response.text[:200]}"
            except (httpx.TransportError, ssl.SSLError) as error:
                last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.1)
    raise server.fail(f"not ready after {timeout:g} s ({last_error})")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group for a clean shutdown, SIGKILL if it does not come."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    # Whatever it forked and left behind goes too.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
