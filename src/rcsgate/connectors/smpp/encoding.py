"""Text to SMS parts and back: GSM 03.38 when the text fits it, UCS-2 otherwise, split into
concatenated parts with a user data header (UDH) when it does not fit one SMS.

smpplib.gsm.make_parts is not used: it maps "`" onto "§", cannot encode "§", and splits
inside a GSM escape sequence or a UTF-16 surrogate pair, which corrupts the character at
every part boundary. This module splits between characters only.

GSM text goes out unpacked, one septet per octet: what `data_coding` 0 means on SMPP.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_CODING_GSM = 0x00
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40  # short_message starts with a user data header

_ESCAPE = 0x1B
# 3GPP TS 23.038 default alphabet; 0x1B is the escape to the extension table.
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM_ENCODE = {char: bytes([code]) for code, char in enumerate(_GSM_BASIC) if code != _ESCAPE}
_GSM_ENCODE |= {char: bytes([_ESCAPE, code]) for char, code in _GSM_EXTENSION.items()}
_GSM_DECODE_EXTENSION = {code: char for char, code in _GSM_EXTENSION.items()}
_GSM_TRANSLATION = {code: _GSM_BASIC[code & 0x7F] for code in range(256)}

# (octets in a single SMS, octets of text in each part after the 6-octet UDH)
_GSM_LIMITS = (160, 153)
_UCS2_LIMITS = (140, 134)
_MAX_PARTS = 255


class TextTooLong(ValueError):
    """More than 255 parts: the concatenation header cannot number them."""


@dataclass(frozen=True, slots=True)
class Encoded:
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]  # each a whole short_message, UDH included when concatenated


@dataclass(frozen=True, slots=True)
class Concatenation:
    reference: int
    total: int
    index: int  # 1-based


def encode_text(text: str, reference: int) -> Encoded:
    """`reference` numbers the concatenated message on the handset (0..255 here); the same
    message sent again should reuse it, so a handset that got some parts of the first try
    completes them with the retry."""
    gsm = _gsm_units(text)
    if gsm is not None:
        return _split(gsm, DATA_CODING_GSM, _GSM_LIMITS, reference)
    return _split(_ucs2_units(text), DATA_CODING_UCS2, _UCS2_LIMITS, reference)


def decode_text(data_coding: int, payload: bytes) -> str:
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding in (DATA_CODING_LATIN1, 0x04, 0x02):
        return payload.decode("latin-1")
    return gsm_decode(payload)  # 0 (SMSC default) and 1 (IA5, a GSM subset in practice)


def gsm_decode(payload: bytes) -> str:
    if _ESCAPE not in payload:  # the common case, receipts included: one C-level pass
        return payload.decode("latin-1").translate(_GSM_TRANSLATION)
    chars: list[str] = []
    escaped = False
    for octet in payload:
        if escaped:
            chars.append(_GSM_DECODE_EXTENSION.get(octet, " "))
            escaped = False
        elif octet == _ESCAPE:
            escaped = True
        else:
            chars.append(_GSM_BASIC[octet & 0x7F])
    return "".join(chars)


def split_udh(short_message: bytes) -> tuple[Concatenation | None, bytes]:
    """The concatenation information element of a UDH (8- or 16-bit reference) and the text
    after the header. Other information elements (ports, ...) are skipped."""
    if not short_message:
        return None, b""
    header_end = 1 + short_message[0]
    header, body = short_message[1:header_end], short_message[header_end:]
    position = 0
    while position + 2 <= len(header):
        element, length = header[position], header[position + 1]
        value = header[position + 2 : position + 2 + length]
        position += 2 + length
        if element == 0x00 and length == 3:
            return Concatenation(value[0], value[1], value[2]), body
        if element == 0x08 and length == 4:
            return Concatenation(int.from_bytes(value[:2], "big"), value[2], value[3]), body
    return None, body


def _gsm_units(text: str) -> list[bytes] | None:
    try:
        return [_GSM_ENCODE[char] for char in text]
    except KeyError:
        return None


def _ucs2_units(text: str) -> list[bytes]:
    # Characters beyond the BMP (emoji) take a surrogate pair: four octets that stay together.
    return [char.encode("utf-16-be") for char in text]


def _split(units: list[bytes], data_coding: int, limits: tuple[int, int], ref: int) -> Encoded:
    single, per_part = limits
    whole = b"".join(units)
    if len(whole) <= single:
        return Encoded(data_coding, 0, (whole,))
    chunks = _chunks(units, per_part)
    if len(chunks) > _MAX_PARTS:
        raise TextTooLong(f"{len(chunks)} parts; at most {_MAX_PARTS}")
    total = len(chunks)
    parts = tuple(
        bytes([0x05, 0x00, 0x03, ref & 0xFF, total, index]) + chunk
        for index, chunk in enumerate(chunks, start=1)
    )
    return Encoded(data_coding, ESM_CLASS_UDHI, parts)


def _chunks(units: list[bytes], size: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > size:
            chunks.append(bytes(current))
            current.clear()
        current += unit
    chunks.append(bytes(current))
    return chunks
