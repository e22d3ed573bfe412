"""Phone numbers: any common written form in, E.164 digits without `+` out."""

from __future__ import annotations

import re

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
    parsed = _split(digits) or _parse(text)
    if not phonenumbers.is_valid_number(parsed):
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
