"""SMPP 3.4 PDUs through python-smpplib, behind a small typed surface.

smpplib encodes and decodes the PDUs; this module only frames them on a stream (every PDU
starts with its own 4-byte length) and gives the untyped smpplib objects typed accessors, so
nothing else in the package touches `Any`.
"""

from __future__ import annotations

import asyncio
import copy
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smpplib import consts, exceptions, smpp
from smpplib.pdu import extract_command

HEADER_SIZE = 16
MAX_PDU_SIZE = 64 * 1024  # far above any legal PDU; a bigger length means a broken stream

ESME_ROK: int = consts.SMPP_ESME_ROK
ESME_RINVCMDID: int = consts.SMPP_ESME_RINVCMDID
ESME_RINVBNDSTS: int = consts.SMPP_ESME_RINVBNDSTS
ESME_RSYSERR: int = consts.SMPP_ESME_RSYSERR
ESME_RMSGQFUL: int = consts.SMPP_ESME_RMSGQFUL
ESME_RTHROTTLED: int = consts.SMPP_ESME_RTHROTTLED
ESME_RX_T_APPN: int = consts.SMPP_ESME_RX_T_APPN
ESME_RINVOPTPARSTREAM: int = consts.SMPP_ESME_RINVOPTPARSTREAM

_STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in sorted(vars(consts).items())
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}


class PduError(Exception):
    """A PDU that could not be decoded; `status` is what to answer in the generic_nack."""

    def __init__(self, message: str, status: int, sequence: int) -> None:
        super().__init__(message)
        self.status = status
        self.sequence = sequence


class StreamError(Exception):
    """The byte stream cannot be framed any more: the connection must be dropped."""


@dataclass(frozen=True, slots=True)
class Pdu:
    """A decoded PDU. Fields are read through `text`, `number` and `octets`."""

    command: str  # smpplib's name: "submit_sm", "deliver_sm_resp", ...
    status: int
    sequence: int
    raw: Any

    @property
    def is_response(self) -> bool:
        return self.command.endswith("_resp") or self.command == "generic_nack"

    def text(self, field: str) -> str:
        """A C-octet string field; SMPP restricts them to ASCII, latin-1 never fails."""
        value = getattr(self.raw, field, None)
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value if isinstance(value, str) else ""

    def number(self, field: str) -> int | None:
        value = getattr(self.raw, field, None)
        return value if isinstance(value, int) else None

    def octets(self, field: str) -> bytes:
        value = getattr(self.raw, field, None)
        if isinstance(value, str):
            return value.encode("latin-1")
        return value if isinstance(value, bytes) else b""


def encode(
    command: str,
    sequence: int,
    fields: Mapping[str, object] | None = None,
    *,
    status: int = ESME_ROK,
) -> bytes:
    blank, (mandatory, optional) = _blank(command)
    fields = fields or {}
    for name, value in fields.items():
        setattr(blank, name, value)
    # smpplib walks every optional parameter the command could carry (some 30 for a
    # submit_sm) to find the few that are set; naming the set ones halves the encoding.
    blank.params_order = mandatory + tuple(name for name in optional if name in fields)
    blank.status = status
    blank.sequence = sequence
    data: bytes = blank.generate()
    return data


def decode(frame: bytes) -> Pdu:
    _length, _command_id, status, sequence = struct.unpack(">LLLL", frame[:HEADER_SIZE])
    try:
        raw, _mandatory = _blank(extract_command(frame))
        raw.parse(frame)
    except exceptions.UnknownCommandError as error:
        raise PduError(str(error), ESME_RINVCMDID, sequence) from error
    except (struct.error, KeyError, IndexError, ValueError, TypeError) as error:
        # smpplib raises KeyError for a TLV it knows but does not list for this command
        raise PduError(f"undecodable PDU: {error!r}", ESME_RINVOPTPARSTREAM, sequence) from error
    return Pdu(command=str(raw.command), status=status, sequence=sequence, raw=raw)


def _blank(command: str) -> tuple[Any, _FieldOrder]:
    """A fresh smpplib command with every field unset, and its mandatory and optional
    fields in order.

    smpplib's constructor walks all ~45 fields of a submit_sm three times, which costs more
    than encoding it; a shallow copy of one constructed blank is the same object for a
    fraction of that (fields are immutable values, set on the copy only).
    """
    known = _BLANKS.get(command)
    if known is None:
        # sequence=0: smpplib would ask a client object for one; the session sets its own
        blank = smpp.make_pdu(command, sequence=0, allow_unknown_opt_params=True)
        names: tuple[str, ...] = tuple(blank.params_order)
        mandatory = tuple(name for name in names if not blank.field_is_optional(name))
        optional = tuple(name for name in names if name not in mandatory)
        known = _BLANKS[command] = (blank, (mandatory, optional))
    return copy.copy(known[0]), known[1]


_FieldOrder = tuple[tuple[str, ...], tuple[str, ...]]
_BLANKS: dict[str, tuple[Any, _FieldOrder]] = {}


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One whole PDU; `asyncio.IncompleteReadError` when the peer closed the connection."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">L", head)
    if not HEADER_SIZE <= length <= MAX_PDU_SIZE:
        raise StreamError(f"PDU length {length} out of range")
    return head + await reader.readexactly(length - 4)


def status_name(status: int) -> str:
    """`ESME_RTHROTTLED (0x58)`: the name and the code, as operators' docs list them."""
    return f"{_STATUS_NAMES.get(status, 'ESME_UNKNOWN')} (0x{status:02X})"
