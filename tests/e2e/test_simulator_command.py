"""`rcsgate simulator` as a user runs it beside the other processes: it prints the settings
that reach it, and the real connectors work against it with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rcsgate.connectors.rbm import RbmConnector, TokenSource
from tests.e2e.test_serve import free_port

START_DEADLINE_S = 60


def start(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCSGATE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rcsgate",
            "simulator",
            "--data-dir",
            str(data_dir),
            "--http-port",
            str(free_port()),
            "--smpp-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    settings: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:  # the settings are printed once it listens
        name, _, value = line.strip().partition("=")
        if name.startswith("RCSGATE_"):
            settings[name] = value
        if name == "RCSGATE_SMPP_PASSWORD":
            break
    return process, settings


async def test_the_printed_settings_reach_the_simulated_operators(tmp_path: Path) -> None:
    process, settings = start(tmp_path)
    try:
        assert (tmp_path / "simulator" / "operators.env").read_text().count("RCSGATE_") == 10
        info = json.loads(Path(settings["RCSGATE_RBM_CREDENTIALS"]).read_text())
        rbm = RbmConnector(
            "rbm",
            TokenSource(info),
            settings["RCSGATE_RBM_CLIENT_TOKEN"],
            base_url=settings["RCSGATE_RBM_BASE_URL"],
        )
        try:
            assert (await rbm.capability("agent", "46700000001")).rcs is True
            assert (await rbm.capability("agent", "46700000002")).rcs is False
        finally:
            await rbm.aclose()
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert process.returncode == 0
