"""The plain-text SMS a rich message becomes when it falls back (API.md 2.6 `fallback`)."""

from __future__ import annotations

from collections.abc import Iterator

from rcsgate.content.enums import SuggestionType
from rcsgate.content.model import Card, MessageContent, Suggestion

_LINKS = (SuggestionType.OpenUrl, SuggestionType.OpenUrlInWebview)


def _links(suggestions: list[Suggestion] | None) -> Iterator[str]:
    for suggestion in suggestions or []:
        if suggestion.type in _LINKS and suggestion.url:
            yield f"{suggestion.text}: {suggestion.url}"


def _card_lines(card: Card) -> Iterator[str]:
    yield from (text for text in (card.title, card.content) if text)
    yield from _links(card.suggestions)


def _lines(content: MessageContent) -> Iterator[str]:
    if content.content:
        yield content.content
    cards = [content.card] if content.card else content.cards or []
    for card in cards:
        yield from _card_lines(card)
    if content.media:
        yield content.media.url
    yield from _links(content.suggestions)


def render_sms(content: MessageContent) -> str:
    """`fallback.sms.content` when given; else the text, then each card's title, description
    and link buttons in order, the media URL, then the message's link chips, one per line."""
    sms = content.fallback.sms if content.fallback else None
    if sms is not None and sms.content and sms.content.strip():
        return sms.content
    return "\n".join(line for line in _lines(content) if line.strip())
