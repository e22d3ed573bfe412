"""A simulated SMSC on a loopback port: SMPP 3.4 bind_transceiver, submit_sm with delivery
receipts played by the virtual phones, MO messages, and switchable failures for tests.

It shares no code with the connector beyond python-smpplib, so a mistake in the connector's
text encoding or receipt handling shows up as a disagreement here instead of agreeing with
itself. Like a real SMSC it stores deliver_sm (receipts and MO) until the bound ESME
acknowledges them with ESME_ROK, and delivers them again after a drop or an error status.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smpplib import consts, gsm, smpp
from smpplib.pdu import extract_command

from rcsgate.simulator.phones import PhoneEvent, PhoneEventKind, PhoneNetwork, behaviour_of

ESME_ROK: int = consts.SMPP_ESME_ROK
ESME_RINVPASWD: int = consts.SMPP_ESME_RINVPASWD
ESME_RINVSYSID: int = consts.SMPP_ESME_RINVSYSID
ESME_RINVBNDSTS: int = consts.SMPP_ESME_RINVBNDSTS
ESME_RINVCMDID: int = consts.SMPP_ESME_RINVCMDID
ESME_RTHROTTLED: int = consts.SMPP_ESME_RTHROTTLED
ESME_RSUBMITFAIL: int = consts.SMPP_ESME_RSUBMITFAIL

REDELIVERY_DELAY = 0.05  # seconds before a deliver_sm that was not acknowledged goes again
DELIVER_TIMEOUT = 60.0  # how long the ESME may take to answer a deliver_sm
DLR_FIRST_WAIT = 2.0  # dlr_before_resp: the longest a submit_sm_resp waits for its DLR
TIMER_GRANULARITY = 0.001  # epoll's: asyncio rounds every wait up to a whole millisecond

# smpplib's GSM table has "`" where 03.38 has "§" (0x5F); "`" is not in the alphabet.
_GSM = gsm.GSM_CHARACTER_TABLE[:0x5F] + "§" + gsm.GSM_CHARACTER_TABLE[0x60:]


@dataclass(frozen=True, slots=True)
class SubmittedSms:
    """One message as the SMSC took it, its concatenated parts put back together."""

    msisdn: str
    sender: str
    sender_ton: int
    text: str
    parts: int
    data_coding: int
    esm_class: int
    registered_delivery: int
    message_ids: tuple[str, ...]


@dataclass(eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    bound: bool = False
    sequences: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    pending: dict[int, asyncio.Future[int | None]] = field(default_factory=dict)

    def send(self, command: str, sequence: int, status: int = ESME_ROK, **fields: Any) -> None:
        if not self.writer.is_closing():
            self.writer.write(_encode(command, sequence, status, fields))

    def request(self, command: str, **fields: Any) -> asyncio.Future[int | None]:
        """The future gets the response's command_status, or None if the connection ends."""
        sequence = next(self.sequences)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        if self.writer.is_closing():
            future.set_result(None)
            return future
        self.pending[sequence] = future
        self.send(command, sequence, **fields)
        return future

    def drop(self) -> None:
        self.writer.transport.abort()
        for future in self.pending.values():
            if not future.done():
                future.set_result(None)
        self.pending.clear()


_BLANKS: dict[str, Any] = {}


def _blank(command: str) -> Any:
    """A copy of a constructed blank command: smpplib's constructor costs more than the
    encoding itself, and what the simulator spends is counted against the ESME's window."""
    if command not in _BLANKS:
        _BLANKS[command] = smpp.make_pdu(command, sequence=0, allow_unknown_opt_params=True)
    return copy.copy(_BLANKS[command])


def _encode(command: str, sequence: int, status: int, fields: dict[str, Any]) -> bytes:
    pdu = _blank(command)
    for name, value in fields.items():
        setattr(pdu, name, value)
    # Only the fields that are set: smpplib otherwise visits every optional parameter.
    pdu.params_order = tuple(
        name for name in pdu.params_order if name in fields or not pdu.field_is_optional(name)
    )
    pdu.status, pdu.sequence = status, sequence
    frame: bytes = pdu.generate()
    return frame


def _decode(frame: bytes) -> Any:
    pdu = _blank(extract_command(frame))
    pdu.parse(frame)
    return pdu


@dataclass(eq=False)
class _Outbound:
    fields: dict[str, Any]
    acked: asyncio.Future[None]
    receipt_for: str | None = None


@dataclass(frozen=True, slots=True)
class _Part:
    message_id: str
    text: str


class Smsc:
    """`submitted` records what was accepted; `max_outstanding` is the most submit_sm ever
    received and not yet answered at once (what an ESME's window bounds); `binds`,
    `refused_binds`, `enquire_links` and `unbinds` count what the ESMEs did."""

    def __init__(
        self,
        network: PhoneNetwork,
        *,
        system_id: str = "rcsgate",
        password: str = "secret",  # noqa: S107 - the simulator's documented default
        host: str = "127.0.0.1",
        port: int = 0,
        round_trip: float = 0.0,
    ) -> None:
        self._network = network
        self._credentials = (system_id, password)
        self._address = (host, port)
        self._round_trip = round_trip
        self.submitted: list[SubmittedSms] = []
        self.max_outstanding = 0
        self.binds = 0
        self.refused_binds = 0
        self.enquire_links = 0
        self.unbinds = 0
        self._outstanding = 0
        self._throttle = 0
        self._released = asyncio.Event()
        self._released.set()
        self._dlr_first = False
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._receiver: _Connection | None = None
        self._receiver_bound = asyncio.Event()
        self._outbox: asyncio.Queue[_Outbound] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_keys = itertools.count()
        self._parts: dict[tuple[str, str, int, int], dict[int, _Part]] = {}
        self._sent: dict[str, tuple[str, str, datetime]] = {}  # id -> msisdn, sender, date
        self._dlr_written: dict[str, asyncio.Future[None]] = {}

    @property
    def outstanding(self) -> int:
        """submit_sm received and not answered yet."""
        return self._outstanding

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        host, port = self._address
        self._server = await asyncio.start_server(self._serve, host, port)
        self._spawn(self._pump())

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_binds()
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def throttle(self, n: int) -> None:
        """Answer the next `n` submit_sm with ESME_RTHROTTLED."""
        self._throttle = n

    def drop_binds(self) -> None:
        """Close every connection now, without an unbind."""
        for connection in list(self._connections):
            connection.drop()

    def hold_responses(self, flag: bool) -> None:
        """While set, submit_sm get no answer; they are answered once it is cleared."""
        if flag:
            self._released.clear()
        else:
            self._released.set()

    def dlr_before_resp(self, flag: bool) -> None:
        """While set, each submit_sm_resp waits until the message's DLR was sent."""
        self._dlr_first = flag

    async def send_mo(self, msisdn: str, text: str, short_code: str) -> None:
        """A phone writes to `short_code`; returns once the ESME acknowledged every part."""
        data_coding, parts = _mo_parts(text)
        esm_class = 0x40 if len(parts) > 1 else 0x00
        base = {"source_addr_ton": 1, "source_addr_npi": 1, "source_addr": msisdn}
        base |= {"destination_addr": short_code, "esm_class": esm_class}
        acks = [
            self._store({**base, "data_coding": data_coding, "short_message": p}) for p in parts
        ]
        await asyncio.gather(*acks)

    async def enquire_link(self) -> bool:
        """Ask the bound ESME whether it is alive: True when it answered within a second."""
        if self._receiver is None:
            return False
        try:
            status = await asyncio.wait_for(self._receiver.request("enquire_link"), 1.0)
        except TimeoutError:
            return False
        return status == ESME_ROK

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer)
        self._connections.add(connection)
        try:
            while True:
                head = await reader.readexactly(4)
                body = await reader.readexactly(int.from_bytes(head, "big") - 4)
                self._dispatch(connection, _decode(head + body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._forget(connection)

    def _dispatch(self, connection: _Connection, pdu: Any) -> None:
        command, sequence = pdu.command, pdu.sequence
        if command.endswith("_resp"):
            future = connection.pending.pop(sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu.status)
        elif command == "bind_transceiver":
            connection.send("bind_transceiver_resp", sequence, self._bind(connection, pdu))
        elif command == "enquire_link":
            self.enquire_links += 1
            connection.send("enquire_link_resp", sequence)
        elif command == "unbind":
            self.unbinds += 1
            connection.send("unbind_resp", sequence)
            connection.writer.close()
        elif command == "submit_sm":
            self._on_submit(connection, pdu)
        else:
            connection.send("generic_nack", sequence, ESME_RINVCMDID)

    def _bind(self, connection: _Connection, pdu: Any) -> int:
        system_id, password = (_text(pdu.system_id), _text(pdu.password))
        if system_id != self._credentials[0]:
            status = ESME_RINVSYSID
        elif password != self._credentials[1]:
            status = ESME_RINVPASWD
        else:
            connection.bound = True
            self._receiver = connection
            self._receiver_bound.set()
            self.binds += 1
            return ESME_ROK
        self.refused_binds += 1
        return status

    def _forget(self, connection: _Connection) -> None:
        connection.drop()
        self._connections.discard(connection)
        if self._receiver is connection:
            self._receiver = None
            self._receiver_bound.clear()

    def _on_submit(self, connection: _Connection, pdu: Any) -> None:
        """Answered `round_trip` seconds after it was read: a timer, not a task, so a full
        window costs the simulator little (its cost would count against the ESME)."""
        self._outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self._outstanding)
        status = self._verdict(connection, pdu)
        loop, key = asyncio.get_running_loop(), next(self._timer_keys)
        # asyncio waits in whole milliseconds, rounded up, so a timer fires up to 1 ms late;
        # aimed half a millisecond early, the round trips average `round_trip`.
        due = loop.time() + max(self._round_trip - TIMER_GRANULARITY / 2, 0.0)
        self._timers[key] = loop.call_at(due, self._respond, key, connection, pdu, status)

    def _respond(self, key: int, connection: _Connection, pdu: Any, status: int) -> None:
        del self._timers[key]
        if self._released.is_set() and not (self._dlr_first and status == ESME_ROK):
            self._outstanding -= 1
            self._answer(connection, pdu, status, self._new_id())
        else:
            self._spawn(self._respond_later(connection, pdu, status))

    async def _respond_later(self, connection: _Connection, pdu: Any, status: int) -> None:
        await self._released.wait()
        message_id = self._new_id()
        if status == ESME_ROK and self._dlr_first:
            written = asyncio.get_running_loop().create_future()
            self._dlr_written[message_id] = written
            self._accept(pdu, message_id)
            await asyncio.wait([written], timeout=DLR_FIRST_WAIT)
            self._outstanding -= 1
            connection.send("submit_sm_resp", pdu.sequence, message_id=message_id)
            return
        self._outstanding -= 1
        self._answer(connection, pdu, status, message_id)

    def _answer(self, connection: _Connection, pdu: Any, status: int, message_id: str) -> None:
        if status != ESME_ROK:
            connection.send("submit_sm_resp", pdu.sequence, status)
            return
        connection.send("submit_sm_resp", pdu.sequence, message_id=message_id)
        self._record(pdu, message_id)
        # Forwarded to the phone half a round trip later, as a store-and-forward SMSC
        # would, so the bookkeeping is not in the way of the ESME's next submits.
        loop = asyncio.get_running_loop()
        loop.call_later(self._round_trip / 2, self._forward, pdu, message_id)

    def _new_id(self) -> str:
        return f"{next(self._ids):08X}"

    def _verdict(self, connection: _Connection, pdu: Any) -> int:
        if not connection.bound:
            return ESME_RINVBNDSTS
        if self._throttle > 0:
            self._throttle -= 1
            return ESME_RTHROTTLED
        if behaviour_of(_text(pdu.destination_addr)).rejects:
            return ESME_RSUBMITFAIL
        return ESME_ROK

    def _accept(self, pdu: Any, message_id: str) -> None:
        self._record(pdu, message_id)
        self._forward(pdu, message_id)

    def _forward(self, pdu: Any, message_id: str) -> None:
        msisdn, sender = _text(pdu.destination_addr), _text(pdu.source_addr)
        self._sent[message_id] = (msisdn, sender, datetime.now(UTC))
        self._network.deliver(msisdn, message_id, self._phone_event, rcs=False)

    def _record(self, pdu: Any, message_id: str) -> None:
        data: bytes = pdu.short_message or b""
        # Only the UDH the connector sends: 05 00 03 <reference> <total> <index>.
        concatenated = bool(pdu.esm_class & 0x40) and data[1:3] == b"\x00\x03"
        part = _Part(
            message_id, _decode_text(pdu.data_coding or 0, data[6:] if concatenated else data)
        )
        if not concatenated:
            self.submitted.append(_submitted(pdu, [part]))
            return
        reference, total, index = data[3], data[4], data[5]
        key = (_text(pdu.source_addr), _text(pdu.destination_addr), reference, total)
        parts = self._parts.setdefault(key, {})
        parts[index] = part
        if len(parts) == total:
            del self._parts[key]
            self.submitted.append(_submitted(pdu, [parts[i] for i in sorted(parts)]))

    async def _phone_event(self, event: PhoneEvent) -> None:
        if event.kind is not PhoneEventKind.DELIVERED or event.ref not in self._sent:
            return
        msisdn, sender, submitted_at = self._sent.pop(event.ref)
        when = f"submit date:{submitted_at:%y%m%d%H%M} done date:{datetime.now(UTC):%y%m%d%H%M}"
        text = f"id:{event.ref} sub:001 dlvrd:001 {when} stat:DELIVRD err:000 text:"
        fields = {"source_addr_ton": 1, "source_addr_npi": 1, "source_addr": msisdn}
        fields |= {"destination_addr": sender, "esm_class": 0x04, "short_message": text.encode()}
        fields |= {"receipted_message_id": event.ref, "message_state": 2}  # 2: DELIVERED
        self._store(fields, receipt_for=event.ref)

    def _store(
        self, fields: dict[str, Any], receipt_for: str | None = None
    ) -> asyncio.Future[None]:
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.put_nowait(_Outbound(fields, acked, receipt_for))
        return acked

    async def _pump(self) -> None:
        """Hands stored deliver_sm to the bound ESME, one task each so a slow
        acknowledgement does not hold up the rest."""
        while True:
            item = await self._outbox.get()
            while self._receiver is None:
                await self._receiver_bound.wait()
            self._spawn(self._deliver(self._receiver, item))

    async def _deliver(self, connection: _Connection, item: _Outbound) -> None:
        answer = connection.request("deliver_sm", **item.fields)
        if item.receipt_for is not None:
            written = self._dlr_written.pop(item.receipt_for, None)
            if written is not None and not written.done():
                written.set_result(None)
        try:
            async with asyncio.timeout(DELIVER_TIMEOUT):
                status = await answer
        except TimeoutError:
            status = None
        if status == ESME_ROK:
            if not item.acked.done():
                item.acked.set_result(None)
            return
        await asyncio.sleep(REDELIVERY_DELAY)
        self._outbox.put_nowait(item)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _submitted(pdu: Any, parts: list[_Part]) -> SubmittedSms:
    return SubmittedSms(
        msisdn=_text(pdu.destination_addr),
        sender=_text(pdu.source_addr),
        sender_ton=pdu.source_addr_ton or 0,
        text="".join(part.text for part in parts),
        parts=len(parts),
        data_coding=pdu.data_coding or 0,
        esm_class=pdu.esm_class or 0,
        registered_delivery=pdu.registered_delivery or 0,
        message_ids=tuple(part.message_id for part in parts),
    )


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value or ""


def _decode_text(data_coding: int, body: bytes) -> str:
    if data_coding == 0x08:
        return body.decode("utf-16-be")
    chars, escaped = [], False
    for octet in body:
        if octet == 0x1B and not escaped:
            escaped = True
            continue
        chars.append(_GSM[octet + 0x80 if escaped else octet])
        escaped = False
    return "".join(chars)


def _mo_parts(text: str) -> tuple[int, list[bytes]]:
    """GSM when every character is in the table, else UTF-16; split between characters."""
    try:
        units = [_gsm_octets(char) for char in text]
        data_coding, single, size = 0x00, 160, 153
    except ValueError:
        units = [char.encode("utf-16-be") for char in text]
        data_coding, single, size = 0x08, 140, 134
    if sum(map(len, units)) <= single:
        return data_coding, [b"".join(units)]
    chunks: list[bytes] = [b""]
    for unit in units:
        if len(chunks[-1]) + len(unit) > size:
            chunks.append(b"")
        chunks[-1] += unit
    reference = next(_MO_REFERENCES) % 256
    udh = [bytes([5, 0, 3, reference, len(chunks), i]) for i in range(1, len(chunks) + 1)]
    return data_coding, [header + chunk for header, chunk in zip(udh, chunks, strict=True)]


_MO_REFERENCES = itertools.count(1)


def _gsm_octets(char: str) -> bytes:
    if char in "`\x1b":  # table fillers and the escape itself: not characters of 03.38
        raise ValueError(char)
    index = _GSM.index(char)
    return bytes([index]) if index < 0x80 else bytes([0x1B, index - 0x80])
