"""Recipients as the iP.1 API accepts them: a number, `{number: {variables}}`, or a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rcsgate.kit.phone import normalize_number

Variables = dict[str, Any]
MAX_VARIABLE_KEYS = 50


def single_recipient(value: str | Mapping[str, Any]) -> dict[str, Variables]:
    """`"46700123456"` or `{"46700123456": {"name": "Kalle"}}` → `{number: variables}`."""
    if isinstance(value, str):
        return {normalize_number(value): {}}
    if len(value) != 1:
        raise ValueError("must be one number, or an object with exactly one number as its key")
    ((number, variables),) = value.items()
    return {normalize_number(number): _variables(variables)}


def _variables(value: Any) -> Variables:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("the variables of a recipient must be an object")
    if len(value) > MAX_VARIABLE_KEYS:
        raise ValueError(f"at most {MAX_VARIABLE_KEYS} variables per recipient")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise ValueError(f"variable {key!r} must be a string, number or boolean")
    return dict(value)


MAX_REPORTED = 20


def many_recipients(
    value: Mapping[str, Any] | list[str],
) -> tuple[dict[str, Variables], list[tuple[str, str]]]:
    """`{number: {variables}}` or `[number, ...]` → `{number: variables}`, and the problems
    found as (JSON pointer, message) pairs: invalid numbers, a number given twice (in any
    written form), bad variables. At most MAX_REPORTED problems are listed."""
    items = value.items() if isinstance(value, Mapping) else ((n, None) for n in value)
    by_key = isinstance(value, Mapping)
    numbers: dict[str, Variables] = {}
    problems: list[tuple[str, str]] = []
    for index, (raw, variables) in enumerate(items):
        pointer = f"/recipients/{_escape(raw) if by_key else index}"
        try:
            number = normalize_number(raw) if isinstance(raw, str) else raw
            if number in numbers:
                raise ValueError(f"{number} is given more than once")
            numbers[number] = _variables(variables)
        except (ValueError, TypeError) as exc:
            problems.append((pointer, str(exc)))
            if len(problems) >= MAX_REPORTED:
                break
    return numbers, problems


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
