"""Every documented iP.1 request body (reference/ip1-rcs-api-notes.md) validates unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from rcsgate.content import Card, MessageContent, MessageType, Suggestion, SuggestionType
from tests.content.helpers import problems
from tests.fixtures.ip1 import E6_CONVERSATION, E10_FULL, E10_QUICK_START

E10_ENGLISH = {
    **E10_FULL,
    "agent": "Customer Service",
    "reference": "INTERNAL-REF-001",
    "tags": ["shipping", "important"],
    "card": {**E10_FULL["card"], "title": "Spring Sale!"},  # type: ignore[dict-item]
}
E15_CARD = {
    "id": "65eb3d14f1234567890a1b2c3d4",
    "messageId": "msg-12345",
    "type": 1,
    "order": 0,
    "title": "Vår stora sommarrea!",
    "content": "Klicka nedan för att se alla fantastiska erbjudanden.",
    "mediaUrl": "https://cdn.site.se/summer-sale.jpg",
    "height": 2,
    "width": 1,
    "orientation": 2,
    "suggestions": [{"text": "Se rean", "type": 1, "url": "https://site.se/rea"}],
}
E16_SUGGESTION = {
    "id": "65eb3d14f1234567890a1e2f3dg",
    "messageId": "65eb3d14f1234567890abcdef",
    "text": "Ring oss nu",
    "type": 5,
    "phoneNumber": "+468123456",
    "postbackData": "call_clicked",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (E6_CONVERSATION, MessageType.Text),
        (E10_QUICK_START, MessageType.Card),
        (E10_FULL, MessageType.Card),
        (E10_ENGLISH, MessageType.Card),
    ],
)
def test_request_bodies_validate_unchanged(body: dict[str, Any], expected: MessageType) -> None:
    content = MessageContent.model_validate(body)
    assert content.type is expected
    assert content.content == body.get("content")
    assert content.card is not None or expected is MessageType.Text


def test_the_quick_start_suggestions_keep_their_values() -> None:
    suggestions = MessageContent.model_validate(E10_QUICK_START).suggestions
    assert suggestions is not None
    assert [(s.type, s.url, s.phone_number) for s in suggestions] == [
        (SuggestionType.OpenUrl, "https://site.se/shop", None),
        (SuggestionType.Dial, None, "468123456"),
    ]


def test_the_stored_card_of_e15_validates_as_a_card_and_in_a_carousel() -> None:
    card = Card.model_validate(E15_CARD)
    assert (card.height, card.orientation, card.image_alignment) == (2, 2, None)
    carousel = MessageContent.model_validate({"cards": [E15_CARD, E15_CARD], "width": 1})
    assert carousel.type is MessageType.Carousel


def test_the_e16_phone_button_validates_as_dial() -> None:
    suggestion = Suggestion.model_validate({**E16_SUGGESTION, "type": 4})
    assert suggestion.phone_number == "+468123456"


def test_the_e16_type_5_is_a_calendar_event_per_the_contract() -> None:
    """The iP.1 page pairs type 5 with a phone number (its own table says 4, notes §6.22);
    API.md makes 5 CalendarEvent, so the missing event fields are named precisely."""
    errors = problems({"content": "Hej", "suggestions": [E16_SUGGESTION]})
    assert set(errors) == {
        "/suggestions/0/title",
        "/suggestions/0/startTime",
        "/suggestions/0/endTime",
    }
