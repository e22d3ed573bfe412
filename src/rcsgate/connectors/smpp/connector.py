"""SMS over one SMPP 3.4 bind_transceiver, kept up in the background.

Error mapping (see `rcsgate.connectors.base`):
    ESME_RTHROTTLED, ESME_RMSGQFUL          THROTTLED
    ESME_RSYSERR, ESME_RINVBNDSTS            TRANSIENT (the SMSC's trouble, not the message's)
    no bind, connection lost, bind failing   TRANSIENT
    no submit_sm_resp in response_timeout    TIMEOUT
    any other command_status                 REJECTED, with the status name and code
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Mapping

from rcsgate.connectors.base import ConnectorError, ErrorClass, EventSink, Submitted
from rcsgate.connectors.smpp.codec import (
    ESME_RINVBNDSTS,
    ESME_RMSGQFUL,
    ESME_ROK,
    ESME_RSYSERR,
    ESME_RTHROTTLED,
    Pdu,
    status_name,
)
from rcsgate.connectors.smpp.encoding import Encoded, TextTooLong, encode_text
from rcsgate.connectors.smpp.inbound import Inbound
from rcsgate.connectors.smpp.session import BindRefused, Sequences, SmppSession
from rcsgate.connectors.smpp.window import SubmitWindow
from rcsgate.kit.backoff import Backoff
from rcsgate.kit.clock import Clock, SystemClock
from rcsgate.kit.logging import get_logger

log = get_logger(__name__)

_STATUS_CLASSES = {
    ESME_RTHROTTLED: ErrorClass.THROTTLED,
    ESME_RMSGQFUL: ErrorClass.THROTTLED,
    ESME_RSYSERR: ErrorClass.TRANSIENT,
    ESME_RINVBNDSTS: ErrorClass.TRANSIENT,
}
_TON_INTERNATIONAL, _TON_NETWORK_SPECIFIC, _TON_ALPHANUMERIC = 0x01, 0x03, 0x05
_NPI_UNKNOWN, _NPI_ISDN = 0x00, 0x01
_MAX_SHORT_CODE_DIGITS = 8
_MAX_ALPHANUMERIC_SENDER = 11  # what a handset shows (GSM 03.40 TP-OA)


class SmppConnector:
    """One SMPP account on one SMSC.

    `start` keeps a bind up in the background: it reconnects after a drop, with exponential
    backoff between `reconnect_backoff` bounds while binds keep failing. At most `window`
    submit_sm are outstanding on the bind; `send_sms` queues for a free slot, so any number
    of coroutines may call it at once (see `window.SubmitWindow` for how long each waits and
    how it fails). Retrying is the caller's job; a retried text reuses its concatenation
    reference (from `message_id`), so a handset completes a message from the parts of both
    attempts.

    Receipts and MO messages go to `sink` (see `inbound.Inbound` for when they are
    acknowledged).
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        system_id: str,
        password: str,
        sink: EventSink,
        *,
        window: int = 10,
        enquire_link_interval: float = 30.0,
        response_timeout: float = 10.0,
        reconnect_backoff: tuple[float, float] = (0.5, 30.0),
        system_type: str = "",
        clock: Clock | None = None,
        mo_reassembly_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self._address = (host, port)
        self._credentials = (system_id, password, system_type)
        self._enquire_link_interval = enquire_link_interval
        self._response_timeout = response_timeout
        self._backoff = Backoff(base=reconnect_backoff[0], cap=reconnect_backoff[1])
        self._sequences = Sequences()
        self._window = SubmitWindow(window, response_timeout, self._sequences)
        self._inbound = Inbound(
            name, sink, clock or SystemClock(), reassembly_timeout=mo_reassembly_timeout
        )
        self._session: SmppSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def bound(self) -> bool:
        return self._window.bound

    async def start(self) -> None:
        if self._runner is None:
            self._closing = False
            self._runner = asyncio.create_task(self._maintain(), name=f"smpp-{self.name}")

    async def aclose(self) -> None:
        """Unbinds (waiting up to `response_timeout` for the unbind_resp) and closes; sends
        still in flight or queued fail TRANSIENT."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        session = self._session
        if session is not None:
            await session.unbind()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        self._window.close(f"SMPP connector {self.name} closed")
        if session is not None:
            await session.wait_closed()

    async def send_sms(self, sender: str, msisdn: str, text: str, message_id: str) -> Submitted:
        try:
            encoded = encode_text(text, reference=zlib.crc32(message_id.encode()))
        except TextTooLong as error:
            raise ConnectorError(ErrorClass.REJECTED, str(error), unsent=True) from error
        fields = _submit_fields(sender, msisdn, encoded)
        if len(encoded.parts) == 1:
            ref = await self._submit(fields, encoded.parts[0])
            return Submitted(refs=(ref,), segments=1)
        outcomes = await asyncio.gather(
            *(self._submit(fields, part) for part in encoded.parts),
            return_exceptions=True,
        )
        refs: list[str] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the first failing part; the caller retries the whole text
            refs.append(outcome)
        return Submitted(refs=tuple(refs), segments=len(refs))

    async def _submit(self, fields: Mapping[str, object], part: bytes) -> str:
        response = await self._window.submit({**fields, "short_message": part})
        return _message_id(response)

    async def _maintain(self) -> None:
        failures = 0
        while not self._closing:
            try:
                served = await self._bind_and_serve()
            except Exception as error:  # a bug here must not end the bind for good
                log.exception("smpp.session_failed", operator=self.name)
                self._window.unbound_reason, served = repr(error), False
            failures = 1 if served else failures + 1
            if not self._closing:
                await asyncio.sleep(self._backoff.delay(failures))

    async def _bind_and_serve(self) -> bool:
        """True when a bind was made (and has ended by now)."""
        try:
            session = await SmppSession.open(
                self._address,
                self._inbound.handle,
                response_timeout=self._response_timeout,
                sequences=self._sequences,
            )
        except (OSError, TimeoutError) as error:
            self._bind_failed(f"connect to {self._address} failed: {error!r}")
            return False
        reader = asyncio.create_task(session.run())
        try:
            try:
                await session.bind(*self._credentials)
            except (BindRefused, ConnectorError) as error:
                self._bind_failed(str(error))
                return False
            await self._serve(session, reader)
            return True
        finally:
            session.close()
            await asyncio.gather(reader, return_exceptions=True)
            await session.wait_closed()

    async def _serve(self, session: SmppSession, reader: asyncio.Task[None]) -> None:
        log.info("smpp.bound", operator=self.name)
        self._session = session
        self._window.attach(session)
        keep_alive = asyncio.create_task(session.keep_alive(self._enquire_link_interval))
        try:
            await reader
        finally:
            self._window.detach("connection lost")
            self._session = None
            keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep_alive
            log.info("smpp.unbound", operator=self.name)

    def _bind_failed(self, reason: str) -> None:
        self._window.unbound_reason = reason
        log.warning("smpp.bind_failed", operator=self.name, reason=reason)


def _message_id(response: Pdu) -> str:
    if response.status == ESME_ROK:
        return response.text("message_id")
    error_class = _STATUS_CLASSES.get(response.status, ErrorClass.REJECTED)
    raise ConnectorError(
        error_class,
        f"submit_sm: {status_name(response.status)}",
        status=response.status,
        unsent=True,
    )


def _submit_fields(sender: str, msisdn: str, encoded: Encoded) -> dict[str, object]:
    source_ton, source_npi = _source_ton_npi(sender)
    return {
        "source_addr_ton": source_ton,
        "source_addr_npi": source_npi,
        "source_addr": sender.removeprefix("+"),
        "dest_addr_ton": _TON_INTERNATIONAL,
        "dest_addr_npi": _NPI_ISDN,
        "destination_addr": msisdn.removeprefix("+"),
        "esm_class": encoded.esm_class,
        "registered_delivery": 1,  # an SMSC delivery receipt on success and on failure
        "data_coding": encoded.data_coding,
    }


def _source_ton_npi(sender: str) -> tuple[int, int]:
    digits = sender.removeprefix("+")
    if not digits.isdigit():
        if len(sender) > _MAX_ALPHANUMERIC_SENDER:
            raise ConnectorError(
                ErrorClass.REJECTED,
                f"alphanumeric sender {sender!r} is over 11 characters",
                unsent=True,
            )
        return _TON_ALPHANUMERIC, _NPI_UNKNOWN
    if len(digits) <= _MAX_SHORT_CODE_DIGITS and not sender.startswith("+"):
        return _TON_NETWORK_SPECIFIC, _NPI_UNKNOWN  # a short code
    return _TON_INTERNATIONAL, _NPI_ISDN
