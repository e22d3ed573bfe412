"""One TCP connection to an SMSC, bound as a transceiver.

Requests are matched to their responses by sequence number, so any number of coroutines may
have requests outstanding at once; how many is the connector's window, not the session's
business. One reader task (`run`) reads every PDU; a deliver_sm is handled in a task of its
own and answered when its handler returns, so a slow sink neither blocks the reader nor gets
a deliver_sm acknowledged before it took the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Awaitable, Callable, Mapping

from rcsgate.connectors.base import ConnectorError, ErrorClass
from rcsgate.connectors.smpp.codec import (
    ESME_RINVCMDID,
    ESME_ROK,
    Pdu,
    PduError,
    StreamError,
    decode,
    encode,
    read_frame,
    status_name,
)
from rcsgate.kit.logging import get_logger

log = get_logger(__name__)

DeliverHandler = Callable[[Pdu], Awaitable[int]]  # returns the deliver_sm_resp status

_MAX_SEQUENCE = 0x7FFFFFFF


class Sequences:
    """Sequence numbers 1..0x7FFFFFFF, then again from 1 (SMPP 3.4 section 3.2). One source
    per connector, shared by its sessions: a submit is encoded while it waits for a window
    slot and sent on whichever session is bound by then, without a number in use there."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def next(self) -> int:
        return next(self._count) % _MAX_SEQUENCE + 1


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind_transceiver refused: {status_name(status)}")
        self.status = status


class SmppSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_deliver: DeliverHandler,
        *,
        response_timeout: float,
        sequences: Sequences,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_deliver = on_deliver
        self._response_timeout = response_timeout
        self._sequences = sequences
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._inbound: set[asyncio.Task[None]] = set()
        self._outgoing: list[bytes] = []
        self._closed = False

    @classmethod
    async def open(
        cls,
        address: tuple[str, int],
        on_deliver: DeliverHandler,
        *,
        response_timeout: float,
        sequences: Sequences,
    ) -> SmppSession:
        async with asyncio.timeout(response_timeout):
            reader, writer = await asyncio.open_connection(*address)
        return cls(
            reader, writer, on_deliver, response_timeout=response_timeout, sequences=sequences
        )

    @property
    def closed(self) -> bool:
        return self._closed

    async def bind(self, system_id: str, password: str, system_type: str) -> None:
        """Needs `run` reading already. Raises BindRefused or ConnectorError."""
        response = await self.request(
            "bind_transceiver",
            system_id=system_id,
            password=password,
            system_type=system_type,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        if response.status != ESME_ROK:
            raise BindRefused(response.status)

    def send(self, command: str, fields: Mapping[str, object] | None = None) -> asyncio.Future[Pdu]:
        sequence = self._sequences.next()
        return self.send_frame(sequence, encode(command, sequence, fields))

    def send_frame(self, sequence: int, frame: bytes) -> asyncio.Future[Pdu]:
        """Write an encoded request now. The future gets its response, whatever its
        command_status, or TRANSIENT when the connection ends first; cancelling it forgets
        the request. Nothing waits for the socket: the window bounds what can pile up."""
        if self._closed:
            raise ConnectorError(ErrorClass.TRANSIENT, "SMPP connection closed")
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        future.add_done_callback(functools.partial(self._forget, sequence))
        self._writer.write(frame)
        return future

    async def request(self, command: str, **fields: object) -> Pdu:
        """`send`, waiting up to `response_timeout` for the response (else TIMEOUT)."""
        future = self.send(command, fields)
        try:
            async with asyncio.timeout(self._response_timeout):
                return await future
        except TimeoutError:
            raise ConnectorError(
                ErrorClass.TIMEOUT, f"no {command}_resp in {self._response_timeout:g} s"
            ) from None

    async def run(self) -> None:
        """Read PDUs until the connection ends; then every outstanding request fails
        TRANSIENT (the SMSC may or may not have taken it: the caller retries)."""
        try:
            while True:
                self._dispatch(await read_frame(self._reader))
        except (asyncio.IncompleteReadError, ConnectionError, StreamError) as error:
            log.info("smpp.connection_ended", reason=repr(error))
        finally:
            self.close()

    async def keep_alive(self, interval: float) -> None:
        """enquire_link every `interval` seconds; no answer in time drops the connection,
        which is how a half-open TCP connection is found."""
        while not self._closed:
            await asyncio.sleep(interval)
            try:
                await self.request("enquire_link")
            except ConnectorError as error:
                log.warning("smpp.enquire_link_failed", reason=error.reason)
                self.close()

    async def unbind(self) -> None:
        with contextlib.suppress(ConnectorError):
            await self.request("unbind")
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        lost = ConnectorError(ErrorClass.TRANSIENT, "SMPP connection lost")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(lost)
        self._pending.clear()

    async def wait_closed(self) -> None:
        """Also cancels deliver_sm handlers still running: their deliver_sm_resp cannot go
        out any more, so the SMSC delivers those again on the next bind."""
        for task in self._inbound:
            task.cancel()
        await asyncio.gather(*self._inbound, return_exceptions=True)
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    def _dispatch(self, frame: bytes) -> None:
        try:
            pdu = decode(frame)
        except PduError as error:
            log.warning("smpp.undecodable_pdu", reason=str(error))
            self._answer("generic_nack", error.sequence, error.status)
            return
        if pdu.is_response:
            self._resolve(pdu)
        elif pdu.command == "deliver_sm":
            task = asyncio.create_task(self._deliver(pdu))
            self._inbound.add(task)
            task.add_done_callback(self._inbound.discard)
        elif pdu.command == "enquire_link":
            self._answer("enquire_link_resp", pdu.sequence)
        elif pdu.command == "unbind":
            self._answer("unbind_resp", pdu.sequence)
            self._flush()  # before the close: a closed session writes nothing
            self.close()
        else:
            self._answer("generic_nack", pdu.sequence, ESME_RINVCMDID)

    def _resolve(self, response: Pdu) -> None:
        future = self._pending.pop(response.sequence, None)
        if future is None or future.done():
            # The request timed out (or never was ours): its caller has already been told.
            log.info("smpp.late_response", command=response.command, seq=response.sequence)
            return
        future.set_result(response)

    async def _deliver(self, pdu: Pdu) -> None:
        status = await self._on_deliver(pdu)
        self._answer("deliver_sm_resp", pdu.sequence, status)

    def _answer(self, command: str, sequence: int, status: int = ESME_ROK) -> None:
        if not self._closed:
            self._write(encode(command, sequence, status=status))

    def _forget(self, sequence: int, future: asyncio.Future[Pdu]) -> None:
        if self._pending.get(sequence) is future:
            del self._pending[sequence]

    def _write(self, frame: bytes) -> None:
        """Queues an answer for one write at the end of this turn of the event loop:
        receipts come in bursts, and a system call per deliver_sm_resp would cost more
        than handling the receipt. (Requests go out at once: their latency is throughput.)
        """
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(frame)

    def _flush(self) -> None:
        frames, self._outgoing = self._outgoing, []
        if not self._closed:
            self._writer.write(b"".join(frames))
