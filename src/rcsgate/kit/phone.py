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
    if not text[1:].isdigit():
        raise ValueError("must be a phone number in international form")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be a phone number in international form") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
