"""How deeply a JSON text nests, found without parsing it.

Python's JSON decoder recurses once per level and raises RecursionError (not ValueError)
around a thousand levels; so does everything that walks the parsed value later. Bodies are
refused above a cap before any parser sees them. The check runs in C-speed passes, with no
per-character Python: a text with few brackets is passed at once; otherwise strings (which
may hold brackets) are cut out, everything but brackets is deleted, and each `bytes.replace`
pass removes exactly the innermost level everywhere.
"""

from __future__ import annotations

# `{}` are counted as `[]`: a mismatched pair is invalid JSON, refused by the parser anyway.
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def nested_deeper_than(text: bytes, limit: int) -> bool:
    """Whether `text` opens more than `limit` arrays/objects inside each other (an
    unbalanced text with more than `limit` openings counts as deep: it is not JSON anyway)."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    brackets = _outside_strings(text).translate(_AS_SQUARE, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def _outside_strings(text: bytes) -> bytes:
    # Escapes read left to right: `\\` first, so the quote in `\\"` still closes its string.
    unescaped = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(unescaped.split(b'"')[::2])
