"""Validate content as a request body would, and read the problem's fields back."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rcsgate.content import MessageContent
from rcsgate.problems import validation_problem

LONG_TEXT = "x" * 3072


def validate(data: dict[str, Any]) -> MessageContent:
    return MessageContent.model_validate(data)


def problems(data: dict[str, Any]) -> dict[str, str]:
    """JSON pointer → message of every error, as the 400 problem would list them."""
    try:
        MessageContent.model_validate(data)
    except ValidationError as error:
        located = [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        return {f.field: f.message for f in validation_problem(located).errors}
    raise AssertionError(f"valid: {data}")


def pointers(data: dict[str, Any]) -> set[str]:
    return set(problems(data))


def suggestion(type_: Any = 0, text: str = "OK", **fields: Any) -> dict[str, Any]:
    return {"type": type_, "text": text, **fields}


def card(**fields: Any) -> dict[str, Any]:
    return {"title": "Vår-REA!", **fields}
