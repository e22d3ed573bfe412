"""`{key}` placeholders in one text: find them, fill them, bound the filled length."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import AfterValidator
from pydantic_core import PydanticKnownError

# Keys are word characters, dots and dashes, so JSON or prose in braces is left alone.
PLACEHOLDER = re.compile(r"\{([\w.-]{1,64})\}")


def keys_of(text: str) -> list[str]:
    """The placeholder keys of `text` in order of first appearance, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def as_text(value: object) -> str:
    """How a variable's value reads inside a text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def has_value(variables: Mapping[str, object], key: str) -> bool:
    """A key with a null value counts as missing."""
    return variables.get(key) is not None


def substitute(text: str, variables: Mapping[str, object]) -> str:
    """`text` with every `{key}` that has a value replaced; the others stay as written."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return as_text(variables[key]) if has_value(variables, key) else match.group(0)

    return PLACEHOLDER.sub(replace, text)


def shortest_filled(text: str) -> int:
    """The fewest characters `text` can have once filled (every value empty)."""
    return len(PLACEHOLDER.sub("", text))


def fits_when_filled(limit: int) -> AfterValidator:
    """At most `limit` characters after filling: plain text is measured as it is, a template
    is refused only when even empty values would leave it too long (the rest is checked per
    recipient by `check_placeholders`)."""

    def check(text: Any) -> Any:
        if isinstance(text, str) and len(text) > limit and shortest_filled(text) > limit:
            raise PydanticKnownError("string_too_long", {"max_length": limit})
        return text

    return AfterValidator(check)
