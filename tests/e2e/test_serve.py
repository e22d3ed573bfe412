"""`rcsgate serve` as a user runs it: a real process, real TLS, real HTTP."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

START_DEADLINE_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(data_dir: Path, *flags: str) -> Iterator[tuple[int, list[str]]]:
    """Starts the server, yields (port, output lines) once /healthz answers, then stops it."""
    with serving_process(data_dir, *flags) as (_process, port, lines):
        yield port, lines


@contextmanager
def serving_process(
    data_dir: Path, *flags: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, list[str]]]:
    """`serving`, with the server's process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCSGATE_")}
    env["RCSGATE_LOG_LEVEL"] = "WARNING"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rcsgate",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *flags,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_healthy(process, port, "http" if "--insecure-http" in flags else "https", log_path)
        yield process, port, log_path.read_text().splitlines()
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_healthy(process: subprocess.Popen[bytes], port: int, scheme: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited:\n{log_path.read_text()}"
        try:
            url = f"{scheme}://127.0.0.1:{port}/healthz"
            if httpx.get(url, verify=False, timeout=1).status_code == 200:  # noqa: S501 - self-signed
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling for readiness, not timing anything
    raise AssertionError(f"server not healthy within {START_DEADLINE_S} s:\n{log_path.read_text()}")


def banner_value(banner: list[str], label: str) -> str:
    for line in banner:
        match = re.match(rf"\s*{label}:\s+(\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no {label!r} in banner:\n" + "\n".join(banner))


def tls_client(data_dir: Path) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(data_dir / "tls" / "cert.pem"))
    return httpx.Client(verify=context, timeout=10)


def test_first_start_makes_a_certificate_and_a_working_demo_key(tmp_path: Path) -> None:
    with serving(tmp_path) as (port, banner), tls_client(tmp_path) as client:
        token = banner_value(banner, "API key")
        response = client.get(
            f"https://localhost:{port}/v3/account", headers={"Authorization": f"Bearer {token}"}
        )
        agents = client.get(
            f"https://127.0.0.1:{port}/v3/brands/demo-store/agents/support",
            headers={"Authorization": f"Bearer {token}"},
        )

    assert response.status_code == 200
    assert response.json()["name"] == "Demo"
    assert agents.json()["status"] == "Launched"
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    assert "portal login" in "\n".join(banner)


def test_second_start_keeps_data_and_certificate_and_shows_no_secret(tmp_path: Path) -> None:
    with serving(tmp_path) as (_port, first_banner):
        token = banner_value(first_banner, "API key")
    certificate = (tmp_path / "tls" / "cert.pem").read_bytes()

    with serving(tmp_path) as (port, banner), tls_client(tmp_path) as client:
        response = client.get(
            f"https://localhost:{port}/v3/account", headers={"Authorization": f"Bearer {token}"}
        )

    assert response.status_code == 200
    assert (tmp_path / "tls" / "cert.pem").read_bytes() == certificate
    assert token not in "\n".join(banner)


def test_without_the_simulator_no_demo_account_is_made(tmp_path: Path) -> None:
    """Its agent would be Launched at operators never asked, its secrets printed to a log."""
    with serving(tmp_path, "--no-simulator") as (port, banner):
        health = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False)  # noqa: S501

    with sqlite3.connect(tmp_path / "rcsgate.db") as database:
        [(accounts,)] = database.execute("SELECT count(*) FROM accounts").fetchall()
    assert health.status_code == 200
    assert accounts == 0
    assert not any("API key" in line or "portal login" in line for line in banner), banner


def test_insecure_http_refuses_v3_unless_a_trusted_proxy_vouches(tmp_path: Path) -> None:
    with serving(tmp_path, "--insecure-http", "--trusted-proxy", "127.0.0.1") as (port, banner):
        token = banner_value(banner, "API key")
        headers = {"Authorization": f"Bearer {token}"}
        direct = httpx.get(f"http://127.0.0.1:{port}/v3/account", headers=headers)
        proxied = httpx.get(
            f"http://127.0.0.1:{port}/v3/account", headers={**headers, "X-Forwarded-Proto": "https"}
        )
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")

    assert direct.status_code == 403
    assert direct.json()["type"] == "https://rcsgate.dev/problems/https-required"
    assert proxied.status_code == 200
    assert health.json() == {"status": "ok", "database": "up"}


def test_given_certificate_is_used(tmp_path: Path) -> None:
    from rcsgate.kit.tls import ensure_self_signed

    cert, key = ensure_self_signed(tmp_path / "own")
    with serving(tmp_path / "data", "--tls-cert", str(cert), "--tls-key", str(key)) as (
        port,
        _banner,
    ):
        context = ssl.create_default_context(cafile=str(cert))
        response = httpx.get(f"https://localhost:{port}/healthz", verify=context)

    assert response.status_code == 200
    assert not (tmp_path / "data" / "tls").exists()


@pytest.mark.parametrize(
    ("command", "setting", "needed"),
    [
        (["serve", "--no-simulator"], "RCSGATE_MAAP_BASE_URL", "RCSGATE_MAAP_CALLBACK_SECRET"),
        (["worker"], "RCSGATE_RBM_BASE_URL", "RCSGATE_RBM_CLIENT_TOKEN"),
    ],
)
def test_an_operator_without_its_callback_secret_does_not_start(
    tmp_path: Path, command: list[str], setting: str, needed: str
) -> None:
    """Without it every callback would be checked with an empty key, which anyone can sign."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCSGATE_")}
    env[setting] = "http://127.0.0.1:9"
    finished = subprocess.run(
        [sys.executable, "-m", "rcsgate", *command, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=START_DEADLINE_S,
        check=False,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert needed in output
    assert "Traceback" not in output


def _workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes under `pid`: its children started by multiprocessing."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if parent == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_workers_auto_serves_with_one_process_per_core(tmp_path: Path) -> None:
    with serving_process(tmp_path, "--no-simulator", "--workers", "auto") as (server, port, _):
        health = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False)  # noqa: S501
        workers = _workers_of(server.pid)

    assert health.status_code == 200
    assert len(workers) == os.cpu_count()


@pytest.mark.parametrize("workers", ["0", "many"])
def test_workers_must_be_a_number_or_auto(tmp_path: Path, workers: str) -> None:
    command = ["serve", "--workers", workers, "--data-dir", str(tmp_path)]
    finished = subprocess.run(
        [sys.executable, "-m", "rcsgate", *command],
        capture_output=True,
        text=True,
        timeout=START_DEADLINE_S,
        check=False,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    assert "--workers" in output
    assert "Traceback" not in output
