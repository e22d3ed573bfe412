"""Phone numbers: any common written form in, E.164 digits without `+` out."""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers

_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_number(value: str) -> str:
    """`+46 70-012 34 56`, `0046700123456` and `46700123456` all become `46700123456`.

    Raises ValueError for anything that is not a valid number.
    """
    text = _SEPARATORS.sub("", value)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        text = "+" + text
    digits = text[1:]
    if not digits.isdigit():
        raise ValueError("must be a phone number in international form")
    split = _split(digits)
    parsed = split or _parse(text)
    valid = is_valid_plain(parsed) if split else phonenumbers.is_valid_number(parsed)
    if not valid:
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def _split(digits: str) -> phonenumbers.PhoneNumber | None:
    """The fast path for plain digits (a bulk send has 100,000 of them): split off the
    country code by table instead of running the full parser. National numbers with a
    leading zero (Italy) or of odd length take the full parser."""
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            if not 4 <= len(national) <= 14 or national.startswith("0"):
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


def _parse(text: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be a phone number in international form") from exc


# The number types `phonenumbers.is_valid_number` tries, in its order.
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip
_Desc = tuple[frozenset[int], re.Pattern[str]]


def is_valid_plain(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number` for a number with no leading national zero, about three
    times faster: the same metadata, its patterns compiled once per calling code. Calling
    codes shared by several regions (+1, +7, ...) take the library's own path."""
    descs = _descriptions(number.country_code)
    if descs is None:
        return bool(phonenumbers.is_valid_number(number))
    general, types = descs
    national = str(number.national_number)
    return _matches(general, national) and any(_matches(desc, national) for desc in types)


@functools.cache
def _descriptions(code: int) -> tuple[_Desc, list[_Desc]] | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) != 1:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    general = _compiled(metadata.general_desc) if metadata else None
    if metadata is None or general is None:
        return None
    types = [_compiled(getattr(metadata, name)) for name in _TYPES]
    return general, [desc for desc in types if desc is not None]


def _compiled(desc: Any) -> _Desc | None:
    if desc is None or desc.national_number_pattern is None:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _matches(desc: _Desc, national: str) -> bool:
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None
