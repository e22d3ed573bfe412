"""Per-recipient `{key}` placeholders across a message's texts.

Placeholders are filled in the text, each card's title and content, and the SMS fallback's
content. A bundle of 100,000 recipients is checked without filling a single text: the filled
length is the template's fixed part plus the lengths of the values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

from rcsgate.content.model import (
    MAX_CARD_CONTENT,
    MAX_CARD_TITLE,
    MAX_SMS,
    MAX_TEXT,
    Card,
    MessageContent,
)
from rcsgate.content.template import PLACEHOLDER, as_text, has_value, keys_of, substitute
from rcsgate.errors import FieldError, ValidationFailed

ContentT = TypeVar("ContentT", bound=MessageContent)
Variables = Mapping[str, object]
Recipients = Mapping[str, Variables | None]


def placeholders(text: str) -> list[str]:
    """The `{key}` names in `text`, in order of first appearance, each once."""
    return keys_of(text)


def _card_texts(pointer: str, card: Card) -> Iterator[tuple[str, str, int]]:
    if card.title is not None:
        yield f"{pointer}/title", card.title, MAX_CARD_TITLE
    if card.content is not None:
        yield f"{pointer}/content", card.content, MAX_CARD_CONTENT


def _texts(content: MessageContent) -> Iterator[tuple[str, str, int]]:
    """Every text that takes placeholders: (JSON pointer, text, limit once filled)."""
    if content.content is not None:
        yield "/content", content.content, MAX_TEXT
    if content.card is not None:
        yield from _card_texts("/card", content.card)
    for index, card in enumerate(content.cards or []):
        yield from _card_texts(f"/cards/{index}", card)
    sms = content.fallback.sms if content.fallback else None
    if sms is not None and sms.content is not None:
        yield "/fallback/sms/content", sms.content, MAX_SMS


def _fill_card(card: Card, variables: Variables) -> Card:
    texts = {"title": card.title, "content": card.content}
    return card.model_copy(
        update={name: substitute(text, variables) for name, text in texts.items() if text}
    )


def fill(content: ContentT, variables: Variables) -> ContentT:
    """A copy with every `{key}` that has a value replaced; the others stay as written."""
    updates: dict[str, Any] = {}
    if content.content is not None:
        updates["content"] = substitute(content.content, variables)
    if content.card is not None:
        updates["card"] = _fill_card(content.card, variables)
    if content.cards is not None:
        updates["cards"] = [_fill_card(card, variables) for card in content.cards]
    fallback = content.fallback
    if fallback is not None and fallback.sms is not None and fallback.sms.content is not None:
        sms = fallback.sms.model_copy(
            update={"content": substitute(fallback.sms.content, variables)}
        )
        updates["fallback"] = fallback.model_copy(update={"sms": sms})
    return content.model_copy(update=updates)


def _lacking(key: str, recipients: Recipients) -> Iterator[str]:
    return (number for number, values in recipients.items() if not has_value(values or {}, key))


def _first_use(content: MessageContent) -> dict[str, str]:
    """Each placeholder key → the pointer of the first text that uses it."""
    where: dict[str, str] = {}
    for pointer, text, _limit in _texts(content):
        for key in keys_of(text):
            where.setdefault(key, pointer)
    return where


def missing_placeholders(
    content: MessageContent, recipients: Recipients, *, first: int = 3
) -> dict[str, list[str]]:
    """Each placeholder key some recipient has no value for → the first such recipients."""
    missing = {key: list(islice(_lacking(key, recipients), first)) for key in _first_use(content)}
    return {key: numbers for key, numbers in missing.items() if numbers}


def _listing(numbers: list[str], total: int) -> str:
    more = f" and {total - len(numbers)} more" if total > len(numbers) else ""
    return ", ".join(numbers) + more


def _missing_errors(content: MessageContent, recipients: Recipients) -> Iterator[FieldError]:
    where = _first_use(content)
    for key, numbers in missing_placeholders(content, recipients).items():
        total = sum(1 for _ in _lacking(key, recipients))
        message = f"placeholder {{{key}}} has no value for {_listing(numbers, total)}"
        yield FieldError(where[key], message)


def _filled_length(text: str) -> Callable[[Variables], int]:
    """variables → the length of `text` filled with them, without building the text."""
    parts = PLACEHOLDER.split(text)
    fixed, keys = sum(len(part) for part in parts[0::2]), parts[1::2]

    def length(variables: Variables) -> int:
        return fixed + sum(
            len(as_text(variables[k])) if has_value(variables, k) else len(k) + 2 for k in keys
        )

    return length


def _length_errors(content: MessageContent, recipients: Recipients) -> Iterator[FieldError]:
    for pointer, text, limit in _texts(content):
        if not PLACEHOLDER.search(text):
            continue  # measured by the model already
        length = _filled_length(text)
        over = [number for number, values in recipients.items() if length(values or {}) > limit]
        if over:
            listing = _listing(over[:3], len(over))
            yield FieldError(pointer, f"is over {limit} characters once filled for {listing}")


def check_placeholders(content: MessageContent, recipients: Recipients) -> None:
    """Raise `ValidationFailed` (400) naming each placeholder without a value and its first
    recipients, and each text that is too long once filled for some recipient."""
    if not any(PLACEHOLDER.search(text) for _pointer, text, _limit in _texts(content)):
        return
    errors = [*_missing_errors(content, recipients), *_length_errors(content, recipients)]
    if errors:
        detail = "; ".join(f"{error.field}: {error.message}" for error in errors[:5])
        raise ValidationFailed(detail, errors=errors)
