"""Content as responses show it: camelCase JSON, integer enums, `typeName` beside `type`."""

from __future__ import annotations

from typing import Any

from rcsgate.content.model import Card, Suggestion


def suggestion_view(suggestion: Suggestion) -> dict[str, Any]:
    """`{"type": 1, "typeName": "OpenUrl", "text": ..., ...}` without null fields."""
    data = suggestion.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("type", None)
    return {"type": int(suggestion.type), "typeName": suggestion.type.name, **data}


def card_view(card: Card) -> dict[str, Any]:
    """The card without null fields; its buttons as `suggestion_view` gives them."""
    data = card.model_dump(mode="json", by_alias=True, exclude_none=True)
    if card.suggestions is not None:
        data["suggestions"] = [suggestion_view(s) for s in card.suggestions]
    return data
