"""A fresh rcsgate data dir with an account and a key, made through the CLI a user has.

Done before the server starts, so the server never sees a half-made database and the bench
does not depend on rcsgate's internal Python API, which is still moving.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import PROJECT_ROOT, BenchError, die_with_parent
from bench.servers import Tls, venv_script

CLI_TIMEOUT = 60.0
# Quiet servers: logging every request would be measured too.
SERVER_ENV = {"RCSGATE_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING")}


@dataclass(frozen=True)
class Credentials:
    account_id: str
    token: str


def provision_account(
    data_dir: Path, *, rate_limit: int, env: Mapping[str, str] | None = None
) -> Credentials:
    """Migrates the database (`data_dir`'s, unless `env` names another), then makes one
    account with one key."""
    rcsgate_cli("migrate", data_dir=data_dir, env=env)
    account = rcsgate_cli(
        "accounts", "create", "--name=bench", "--email=bench@example.com",
        f"--rate-limit={rate_limit}", "--json", data_dir=data_dir, env=env,
    )  # fmt: skip
    key = rcsgate_cli(
        "keys", "create", f"--account={account['id']}", "--name=bench", "--json",
        data_dir=data_dir, env=env,
    )  # fmt: skip
    return Credentials(account_id=str(account["id"]), token=str(key["token"]))


def rcsgate_tls(data_dir: Path) -> Tls:
    """Where `rcsgate serve` puts the self-signed certificate it makes on first start."""
    return Tls(cert=data_dir / "tls" / "cert.pem", key=data_dir / "tls" / "key.pem")


def rcsgate_cli(*args: str, data_dir: Path, env: Mapping[str, str] | None = None) -> Any:
    """Runs `rcsgate ARGS --data-dir=DIR`; returns its JSON output when `--json` was given.

    `env` adds RCSGATE_* variables, e.g. RCSGATE_DATABASE_URL for PostgreSQL.
    """
    command = [venv_script("rcsgate"), *args, f"--data-dir={data_dir}"]
    try:
        done = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **SERVER_ENV, **(env or {})},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"`{' '.join(command)}` took over {CLI_TIMEOUT:g} s") from error
    if done.returncode != 0:
        raise BenchError(
            f"`{' '.join(command)}` exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    if "--json" not in args:
        return None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise BenchError(f"`{' '.join(command)}` printed no JSON:\n{done.stdout}") from error
