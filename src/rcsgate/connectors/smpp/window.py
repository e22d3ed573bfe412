"""The submit window: at most `size` submit_sm outstanding on the bind, the rest queued in
arrival order.

Each response frees its slot and the same callback sends the next queued submit, so a full
window turns over in one pass of the event loop instead of waiting for every waiting
coroutine to be scheduled in turn; on a 20 ms round trip that wait is what keeps an asyncio
ESME well below window / round trip.

How long a submit may wait:
    sent, no submit_sm_resp within `response_timeout`    TIMEOUT
    queued while bound                                    until a slot frees (each frees
                                                          within `response_timeout`)
    queued without a bind                                 TRANSIENT once `response_timeout`
                                                          has passed since the later of its
                                                          queuing and the drop
    in flight when the connection drops                   TRANSIENT at once (the session
                                                          fails it)
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from rcsgate.connectors.base import ConnectorError, ErrorClass
from rcsgate.connectors.smpp.codec import Pdu, encode
from rcsgate.connectors.smpp.session import Sequences, SmppSession


@dataclass(eq=False)
class _Submit:
    sequence: int
    frame: bytes
    result: asyncio.Future[Pdu]
    queued_at: float


class SubmitWindow:
    def __init__(self, size: int, response_timeout: float, sequences: Sequences) -> None:
        self._size = size
        self._timeout = response_timeout
        self._sequences = sequences
        self._queue: deque[_Submit] = deque()
        self._in_flight: set[_Submit] = set()
        self._session: SmppSession | None = None
        self._down_since = 0.0  # loop time the last bind ended
        self._sweep: asyncio.TimerHandle | None = None
        self.unbound_reason = "not bound yet"

    @property
    def bound(self) -> bool:
        return self._session is not None and not self._session.closed

    def attach(self, session: SmppSession) -> None:
        self._session = session
        self._in_flight.clear()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        self._pump()

    def detach(self, reason: str) -> None:
        """The session's requests in flight fail with it; queued ones wait for the next."""
        self._session = None
        self._in_flight.clear()
        self._down_since = asyncio.get_running_loop().time()
        self.unbound_reason = reason
        self._schedule_sweep()

    def close(self, reason: str) -> None:
        """Fails every queued submit TRANSIENT now."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        while self._queue:
            item = self._queue.popleft()
            if not item.result.done():  # still queued: never written to the SMSC
                item.result.set_exception(ConnectorError(ErrorClass.TRANSIENT, reason, unsent=True))

    async def submit(self, fields: Mapping[str, object]) -> Pdu:
        """The submit_sm_resp, whatever its command_status. Encoded now, while it waits:
        the slot's turn is then only a write."""
        loop = asyncio.get_running_loop()
        sequence = self._sequences.next()
        frame = encode("submit_sm", sequence, fields)
        item = _Submit(sequence, frame, loop.create_future(), loop.time())
        self._queue.append(item)
        if self.bound:
            self._pump()
        else:
            self._schedule_sweep()
        return await item.result

    def _pump(self) -> None:
        session = self._session
        while self._queue and len(self._in_flight) < self._size:
            if session is None or session.closed:
                return  # the next attach pumps again
            item = self._queue.popleft()
            if item.result.done():
                continue  # its caller was cancelled
            response = session.send_frame(item.sequence, item.frame)
            self._in_flight.add(item)
            timer = asyncio.get_running_loop().call_later(
                self._timeout, self._expire, item, response
            )
            response.add_done_callback(functools.partial(self._answered, item, timer))

    def _answered(
        self, item: _Submit, timer: asyncio.TimerHandle, response: asyncio.Future[Pdu]
    ) -> None:
        timer.cancel()
        self._in_flight.discard(item)
        if not response.cancelled() and not item.result.done():
            error = response.exception()
            if error is not None:
                item.result.set_exception(error)
            else:
                item.result.set_result(response.result())
        self._pump()

    def _expire(self, item: _Submit, response: asyncio.Future[Pdu]) -> None:
        if not item.result.done():
            reason = f"no submit_sm_resp in {self._timeout:g} s"
            item.result.set_exception(ConnectorError(ErrorClass.TIMEOUT, reason))
        response.cancel()  # the session forgets it; `_answered` frees the slot

    def _schedule_sweep(self) -> None:
        if self._sweep is None and self._queue:
            self._sweep = asyncio.get_running_loop().call_at(
                self._deadline(self._queue[0]), self._fail_unbound
            )

    def _deadline(self, item: _Submit) -> float:
        return max(item.queued_at, self._down_since) + self._timeout

    def _fail_unbound(self) -> None:
        self._sweep = None
        if self.bound:
            return
        now = asyncio.get_running_loop().time()
        while self._queue and self._deadline(self._queue[0]) <= now:
            item = self._queue.popleft()
            if not item.result.done():
                reason = f"no SMPP bind: {self.unbound_reason}"
                item.result.set_exception(ConnectorError(ErrorClass.TRANSIENT, reason, unsent=True))
        self._schedule_sweep()
