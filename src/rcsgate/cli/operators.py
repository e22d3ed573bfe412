"""`rcsgate worker` and `rcsgate simulator`, and the in-process simulator of `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer

from rcsgate.cli.common import (
    DatabaseUrl,
    DataDir,
    console,
    require_operator_secrets,
    settings_from,
)
from rcsgate.config import Settings
from rcsgate.context import AppContext
from rcsgate.dispatch.runtime import running_dispatch
from rcsgate.kit.logging import configure_logging
from rcsgate.kit.migrations import upgrade_database
from rcsgate.simulator.server import Simulator
from rcsgate.webhooks.delivery import running_webhooks


def public_base(settings: Settings) -> str:
    """Where this server is reached from the same machine (the simulator's callbacks)."""
    if settings.public_url:
        return settings.public_url
    scheme = "http" if settings.insecure_http else "https"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    return f"{scheme}://{host}:{settings.port}"


@contextlib.asynccontextmanager
async def simulated_operators(context: AppContext) -> AsyncIterator[Simulator]:
    """Start the simulator and point the context's operator settings at it."""
    settings = context.settings
    simulator = Simulator(
        delay_scale=settings.simulator_delay_scale, callback_base=public_base(settings)
    )
    await simulator.start()
    try:
        update: dict[str, object] = dict(simulator.endpoints(settings.data_dir))
        if "webhook_allow_private" not in settings.model_fields_set:
            # A local run: its webhook receivers are on this machine too.
            update["webhook_allow_private"] = True
        context.settings = settings.model_copy(update=update)
        yield simulator
    finally:
        await simulator.aclose()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def worker(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Run the dispatch and webhook workers only (operators from RCSGATE_RBM_*, _MAAP_*,
    _SMPP_*)."""
    settings = settings_from(database_url=database_url, data_dir=data_dir)
    require_operator_secrets(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    upgrade_database(settings.resolved_database_url)

    async def main() -> None:
        context = AppContext.create(settings)
        try:
            async with running_dispatch(context), running_webhooks(context):
                await _until_signalled()
        finally:
            await context.aclose()

    asyncio.run(main())


def simulator(
    http_port: Annotated[int, typer.Option(help="RBM and MaaP HTTP APIs.")] = 8480,
    smpp_port: Annotated[int, typer.Option(help="The SMSC.")] = 2775,
    callback_base: Annotated[
        str, typer.Option(help="rcsgate's base URL for operator callbacks.")
    ] = "https://127.0.0.1:8443",
    delay_scale: Annotated[
        float, typer.Option(help="Phone delays are multiplied by this (0: at once).")
    ] = 1.0,
    data_dir: DataDir = None,
) -> None:
    """Run the operator simulator alone; prints the RCSGATE_* settings that reach it."""
    settings = settings_from(data_dir=data_dir)

    async def main() -> None:
        sim = Simulator(
            http_port=http_port,
            smpp_port=smpp_port,
            callback_base=callback_base,
            delay_scale=delay_scale,
        )
        await sim.start()
        try:
            env = _env_lines(sim, settings.data_dir)
            (settings.data_dir / "simulator" / "operators.env").write_text(env)
            console.print(env)
            await _until_signalled()
        finally:
            await sim.aclose()

    asyncio.run(main())


def _env_lines(sim: Simulator, data_dir: Path) -> str:
    return "".join(f"RCSGATE_{k.upper()}={v}\n" for k, v in sim.endpoints(data_dir).items())
