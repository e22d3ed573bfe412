"""The dispatch side of a process: connectors built from settings, the handlers of every job
kind, and the relay loops that run them. `serve` runs it in-process; `rcsgate worker` runs
only this."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from rcsgate.config import Settings
from rcsgate.connectors.base import EventSink
from rcsgate.connectors.maap import MaapConnector
from rcsgate.connectors.rbm import RbmConnector, TokenSource
from rcsgate.connectors.smpp import SmppConnector
from rcsgate.context import AppContext
from rcsgate.dispatch.bundles import BundleFanOut
from rcsgate.dispatch.followups import FollowUps
from rcsgate.dispatch.jobs import DISPATCH_QUEUE
from rcsgate.dispatch.launches import Launches
from rcsgate.dispatch.pipeline import Pipeline
from rcsgate.dispatch.relay import BatchHandler, Relay, worker_name
from rcsgate.dispatch.routing import Operators
from rcsgate.kit.wakeup import listening


def build_operators(settings: Settings, sink: EventSink) -> Operators:
    """A connector for every operator whose settings are given; SettingsError for one given
    without its callback secret."""
    settings.require_operator_secrets()
    operators = Operators()
    timeout = settings.operator_timeout
    if settings.rbm_base_url and settings.rbm_credentials:
        info = json.loads(settings.rbm_credentials.read_text())
        tokens = TokenSource(info, token_uri=settings.rbm_token_uri or None)
        operators.rcs["rbm"] = RbmConnector(
            "rbm",
            tokens,
            settings.rbm_client_token,
            base_url=settings.rbm_base_url,
            timeout=timeout,
            max_in_flight=settings.operator_concurrency,
        )
    if settings.maap_base_url:
        operators.rcs["maap"] = MaapConnector(
            "maap",
            settings.maap_base_url,
            settings.maap_token,
            settings.maap_callback_secret,
            timeout=timeout,
        )
    if settings.smpp_host:
        operators.sms = SmppConnector(
            "smpp",
            settings.smpp_host,
            settings.smpp_port,
            settings.smpp_system_id,
            settings.smpp_password,
            sink,
            window=settings.smpp_window,
            response_timeout=timeout,
        )
    return operators


@dataclass
class Dispatch:
    """Handlers and relays over one context's operators."""

    context: AppContext
    relay: Relay = field(init=False)

    def __post_init__(self) -> None:
        ctx = self.context
        pipeline = Pipeline(
            ctx.sessionmaker, ctx.clock, ctx.settings, ctx.operators, ctx.capabilities
        )
        follow = FollowUps(ctx.sessionmaker, ctx.clock, ctx.settings, ctx.operators)
        handlers: dict[str, BatchHandler] = {
            "send_message": pipeline.send_messages,
            "send_sms": pipeline.send_sms,
            "revoke_message": follow.revoke,
            "expire_message": follow.expire,
            "fallback_check": follow.fallback_check,
            "agent_event": follow.agent_event,
            "match_receipt": ctx.receipts.match,
            "send_bundle": BundleFanOut(ctx.sessionmaker, ctx.clock).fan_out,
            "launch_agent": Launches(ctx.sessionmaker, ctx.clock, ctx.operators).launch,
        }
        self.relay = Relay(
            ctx.sessionmaker,
            ctx.clock,
            handlers,
            DISPATCH_QUEUE,
            batch_size=ctx.settings.dispatch_batch,
            lease=timedelta(seconds=ctx.settings.dispatch_lease_seconds),
            bell=ctx.wakeups.jobs,
        )

    def loop(self) -> Relay:
        """The relay of one more loop: its own holder id, so one loop cannot settle (or
        overwrite) a job another loop of this process holds."""
        return replace(self.relay, name=worker_name())


@asynccontextmanager
async def running_dispatch(context: AppContext) -> AsyncIterator[Dispatch]:
    """Connect the operators and run the relay loops until the block ends; they wake when a
    job is committed, by this process or (on PostgreSQL) by any other."""
    context.operators = build_operators(context.settings, context.receipts.sink)
    dispatch = Dispatch(context)
    await context.operators.start()
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        if context.settings.dispatch_workers:
            await stack.enter_async_context(listening(context.engine, context.wakeups.jobs))
        loops = [
            asyncio.create_task(dispatch.loop().run_forever(stop))
            for _ in range(context.settings.dispatch_workers)
        ]
        try:
            yield dispatch
        finally:
            stop.set()
            await asyncio.gather(*loops, return_exceptions=True)
            await context.operators.aclose()
