"""`rcsgate serve`: migrate, seed the demo on first start, then serve /v3 over TLS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from rcsgate.app import Hook, create_app
from rcsgate.cli.common import (
    console,
    require_operator_secrets,
    run_with_context,
    settings_from,
)
from rcsgate.cli.demo import DemoCredentials, seed_demo
from rcsgate.cli.operators import simulated_operators
from rcsgate.config import Settings
from rcsgate.dispatch.runtime import running_dispatch
from rcsgate.kit.logging import configure_logging
from rcsgate.kit.migrations import upgrade_database
from rcsgate.kit.tls import ensure_self_signed
from rcsgate.webhooks.delivery import running_webhooks


def build_app() -> FastAPI:
    """The factory each uvicorn worker calls; settings come from RCSGATE_* variables."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    hooks: list[Hook] = [simulated_operators] if simulator_in_process(settings) else []
    hooks.append(running_dispatch)
    hooks.append(running_webhooks)
    return create_app(settings, hooks=hooks)


def simulator_in_process(settings: Settings) -> bool:
    """One process can host the simulator (whose random secrets it then shares with the
    connectors); with several, run `rcsgate simulator` beside them."""
    return settings.simulator and settings.workers == 1


def _workers(value: str | None) -> str | None:
    """A number of processes, or `auto` (Settings makes it os.cpu_count())."""
    if value is None or value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise typer.BadParameter(f"{value!r}: give a number of processes (1 or more) or auto")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the database and certificate live.")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy async URL.")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis for shared rate limits.")] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            help="Server processes: a number, or `auto` for one per core.",
            callback=_workers,
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate (else self-signed).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key.")] = None,
    insecure_http: Annotated[
        bool, typer.Option("--insecure-http", help="Plain HTTP, only behind a TLS proxy.")
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option("--trusted-proxy", help="Proxy address/CIDR whose X-Forwarded-* count."),
    ] = None,
    seed: Annotated[
        bool,
        typer.Option(help="Make the demo account in an empty database (with the simulator only)."),
    ] = True,
    no_simulator: Annotated[
        bool, typer.Option("--no-simulator", help="Talk to real operators (RCSGATE_RBM_* ...).")
    ] = False,
) -> None:
    """Serve the API with the dispatch workers (and the operator simulator) in-process."""
    overrides = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
        "redis_url": redis_url,
        "workers": workers,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "insecure_http": insecure_http or None,
        "trusted_proxies": ",".join(trusted_proxy) if trusted_proxy else None,
        "simulator": False if no_simulator else None,
    }
    # Worker processes rebuild Settings from the environment, so flags travel that way.
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"RCSGATE_{name.upper()}"] = str(value)
    settings = settings_from(**overrides)
    if not simulator_in_process(settings):
        require_operator_secrets(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    if seed and settings.simulator:
        # Its agent is recorded Launched without asking an operator, and its password and
        # key are printed: a demo for the simulator, never data in a production database.
        _print_banner(settings, run_with_context(settings, seed_demo))
    else:
        _print_address(settings)
    ssl = _tls_files(settings)
    uvicorn.run(
        "rcsgate.cli.serve:build_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ssl_certfile=str(ssl[0]) if ssl else None,
        ssl_keyfile=str(ssl[1]) if ssl else None,
        proxy_headers=False,  # the gate reads X-Forwarded-* itself, from trusted proxies only
        server_header=False,
        access_log=False,
        log_level=settings.log_level.lower(),
    )


def _tls_files(settings: Settings) -> tuple[Path, Path] | None:
    if settings.insecure_http:
        return None
    if settings.tls_cert and settings.tls_key:
        return settings.tls_cert, settings.tls_key
    if settings.tls_cert or settings.tls_key:
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    return ensure_self_signed(settings.data_dir / "tls")


def _print_address(settings: Settings) -> str:
    scheme = "http" if settings.insecure_http else "https"
    base = f"{scheme}://{settings.host}:{settings.port}"
    console.print(f"[bold]rcsgate[/bold] on {base}  (API {base}/v3, docs {base}/v3/docs)")
    return base


def _print_banner(settings: Settings, credentials: DemoCredentials | None) -> None:
    base = _print_address(settings)
    if credentials is None:
        console.print(
            "Demo data was made on the first start; its key was shown then. A new key:\n"
            "  .venv/bin/rcsgate keys create --account <id> --name mykey"
        )
        return
    console.print(
        "[bold green]Demo account created[/bold green] (secrets shown this once)\n"
        f"  account:      {credentials.account_id}\n"
        f"  portal login: {credentials.email} / {credentials.password}\n"
        f"  API key:      {credentials.api_key}\n"
        f"  brand/agent:  {credentials.brand} / {credentials.agent}\n"
        "  try:          curl -k "
        f'-H "Authorization: Bearer {credentials.api_key}" {base}/v3/account'
    )
