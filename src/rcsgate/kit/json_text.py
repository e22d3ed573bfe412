"""Checks of a JSON text that no schema makes: characters no database column can hold."""

from __future__ import annotations

import json
from typing import Any

_ESCAPED_NUL = b"\\u0000"


def nul_pointer(text: bytes) -> str | None:
    """The JSON pointer of the first string (or key) holding a NUL character, if any. PostgreSQL
    refuses NUL in text, so such a request could only fail later, as a 5xx. JSON can carry
    a NUL only escaped; the text is parsed only when the escape appears in it."""
    if _ESCAPED_NUL not in text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None  # not JSON: the request's own parsing refuses it
    return _find(value, "")


def _find(value: Any, pointer: str) -> str | None:
    if isinstance(value, str):
        return pointer if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        here = f"{pointer}/{_escaped(str(key))}"
        if "\x00" in str(key):
            return here
        found = _find(item, here)
        if found is not None:
            return found
    return None


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
