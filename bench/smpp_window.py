"""SMS throughput over one SMPP bind: how close the connector's window gets to its ceiling.

With at most `window` submit_sm outstanding and every one answered after the SMSC's round
trip, no ESME can exceed window / round trip (10 / 20 ms = 500 messages/s); that ceiling is
the baseline, and the target is 90% of it. What the connector loses is its own per-message
cost and any slot left idle between a response and the next submit. A full window moves as
one burst, so each round trip also pays for the burst's processing on both sides: 100% is
out of reach for any ESME against this simulator. (The simulator aims its timers half a
millisecond early, as asyncio fires them up to a millisecond late, so its round trips
average 20 ms.)

Setup: the simulated SMSC (simulator/smsc.py, `round_trip` 0.020 s) runs in a process of
its own, as an SMSC runs on a machine of its own, so each side has a core; they talk over
loopback TCP. Twice `window` senders keep the window full with 1-part GSM texts for
--duration seconds after --warmup seconds. Every message also brings a delivery receipt
(deliver_sm) back over the same bind, which the connector decodes, hands to its sink and
acknowledges within the measured time; the SMSC forwards each message half a round trip
after its submit_sm_resp and the phones deliver it at once, so receipts arrive between the
bursts (real ones come seconds later, never on the response's heels). The run fails if a
receipt is missing or the SMSC ever saw more than `window` submits outstanding.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from bench.core import BenchError, BenchResult, Measure, Options
from bench.registry import benchmark
from rcsgate.connectors.base import InboundEvent, InboundKind
from rcsgate.connectors.smpp import SmppConnector
from rcsgate.simulator.phones import PhoneNetwork
from rcsgate.simulator.smsc import Smsc

WINDOW = 10
ROUND_TRIP = 0.020
TARGET_RATIO = 0.90
SENDERS = 2 * WINDOW
RECIPIENT = "46700000002"  # SMS-only test number: delivered, never rejected
STARTUP_WAIT = 20.0
RECEIPT_WAIT = 10.0


@dataclass
class Run:
    sent: int = 0
    seconds: float = 0.0


@dataclass
class Receipts:
    count: int = 0


@benchmark("smpp_window", "SMPP submit_sm/s on one bind (window 10, 20 ms RTT) vs window / RTT")
def smpp_window(options: Options) -> BenchResult:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    smsc = context.Process(target=_smsc_process, args=(theirs,), daemon=True)
    smsc.start()
    try:
        if not ours.poll(STARTUP_WAIT):
            raise BenchError(f"the simulated SMSC did not start in {STARTUP_WAIT:g} s")
        port = ours.recv()
        run, sent = asyncio.run(_measure(port, options))
        ours.send("stop")
        max_outstanding = ours.recv()
    finally:
        smsc.join(timeout=5)
        if smsc.is_alive():
            smsc.kill()
    if max_outstanding > WINDOW:
        raise BenchError(f"the SMSC saw {max_outstanding} outstanding; the window is {WINDOW}")
    return _result(run, sent, max_outstanding, options)


def _smsc_process(pipe: Connection) -> None:
    asyncio.run(_serve_smsc(pipe))


async def _serve_smsc(pipe: Connection) -> None:
    network = PhoneNetwork(delay_scale=0.0)  # delivered as soon as forwarded
    smsc = Smsc(network, round_trip=ROUND_TRIP)
    await smsc.start()
    pipe.send(smsc.port)
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    pipe.send(smsc.max_outstanding)
    await smsc.aclose()
    await network.aclose()


async def _measure(port: int, options: Options) -> tuple[Run, int]:
    """The measured run and how many messages were sent in all, warm-up included."""
    receipts = Receipts()

    async def sink(event: InboundEvent) -> None:
        if event.kind is InboundKind.STATUS:
            receipts.count += 1

    connector = SmppConnector("bench", "127.0.0.1", port, "rcsgate", "secret", sink, window=WINDOW)
    await connector.start()
    try:
        warm_up = await _load(connector, options.warmup) if options.warmup > 0 else Run()
        measured = await _load(connector, options.duration)
        sent = warm_up.sent + measured.sent
        await _await_receipts(receipts, sent)
    finally:
        await connector.aclose()
    return measured, sent


async def _load(connector: SmppConnector, seconds: float) -> Run:
    run = Run()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def sender(number: int) -> None:
        while loop.time() < deadline:
            await connector.send_sms("Bench", RECIPIENT, f"Bench message {number}", "bench")
            run.sent += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(number) for number in range(SENDERS)))
    run.seconds = time.perf_counter() - started
    return run


async def _await_receipts(receipts: Receipts, expected: int) -> None:
    deadline = time.perf_counter() + RECEIPT_WAIT
    while receipts.count < expected:
        if time.perf_counter() > deadline:
            raise BenchError(f"{receipts.count} receipts for {expected} accepted messages")
        await asyncio.sleep(0.01)


def _result(run: Run, sent: int, max_outstanding: int, options: Options) -> BenchResult:
    ceiling = WINDOW / ROUND_TRIP
    warm_up = f"after a {options.warmup:g} s warm-up" if options.warmup > 0 else "cold"
    return BenchResult(
        name="smpp_window",
        title=f"submit_sm on one bind, window {WINDOW}, SMSC round trip {ROUND_TRIP * 1000:g} ms",
        figure_name="rcsgate",
        baseline_name="window / RTT",
        setup=(
            f"connector and simulated SMSC in two processes over loopback TCP, {SENDERS} "
            f"senders, {run.seconds:.1f} s {warm_up}, 1-part GSM texts with receipts"
        ),
        measures=(
            Measure("messages accepted", "msg/s", run.sent / run.seconds, ceiling, TARGET_RATIO),
        ),
        details={
            "messages": run.sent,
            "seconds": round(run.seconds, 3),
            "window": WINDOW,
            "round_trip_s": ROUND_TRIP,
            "max_outstanding_at_smsc": max_outstanding,
            "receipts": sent,
        },
    )
