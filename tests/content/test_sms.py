"""The plain-text SMS rendering and the response views of cards and suggestions."""

from __future__ import annotations

from typing import Any

from rcsgate.content import card_view, render_sms, suggestion_view
from tests.content.helpers import suggestion, validate

SHOP = suggestion("OpenUrl", "Shoppa nu", url="https://site.se/shop")
CALL = suggestion("Dial", "Ring oss", phoneNumber="468123456")
REPLY = suggestion("Reply", "Ja tack", postbackData="yes")


def rendered(body: dict[str, Any]) -> str:
    return render_sms(validate(body))


class TestRenderSms:
    def test_text_only(self) -> None:
        assert rendered({"content": "Hej Kalle!"}) == "Hej Kalle!"

    def test_text_card_and_url_suggestions_only(self) -> None:
        body = {
            "content": "Hej!",
            "card": {"title": "Vår-REA!", "content": "Allt ska bort.", "suggestions": [CALL]},
            "suggestions": [REPLY, SHOP],
        }
        assert rendered(body) == "Hej!\nVår-REA!\nAllt ska bort.\nShoppa nu: https://site.se/shop"

    def test_carousel_cards_in_order_with_their_links(self) -> None:
        webview = suggestion(6, "Läs mer", url="https://site.se/mer")
        body = {
            "cards": [
                {"title": "Ett", "suggestions": [SHOP]},
                {"content": "Två", "mediaUrl": "https://cdn.site.se/2.jpg"},
                {"title": "Tre", "suggestions": [webview]},
            ]
        }
        assert rendered(body) == (
            "Ett\nShoppa nu: https://site.se/shop\nTvå\nTre\nLäs mer: https://site.se/mer"
        )

    def test_media_gives_its_url(self) -> None:
        assert rendered({"media": {"url": "https://cdn.site.se/kvitto.pdf"}}) == (
            "https://cdn.site.se/kvitto.pdf"
        )

    def test_the_fallback_content_wins(self) -> None:
        body = {"content": "Hej!", "suggestions": [SHOP], "fallback": {"sms": {"content": "SMS"}}}
        assert rendered(body) == "SMS"

    def test_a_blank_fallback_content_does_not(self) -> None:
        assert rendered({"content": "Hej!", "fallback": {"sms": {"content": " "}}}) == "Hej!"


class TestViews:
    def test_suggestion_view_has_the_integer_and_the_name_without_nulls(self) -> None:
        item = validate({"content": "Hej", "suggestions": [SHOP]}).suggestions
        assert item is not None
        assert suggestion_view(item[0]) == {
            "type": 1,
            "typeName": "OpenUrl",
            "text": "Shoppa nu",
            "url": "https://site.se/shop",
        }

    def test_card_view_is_camel_case_with_integer_enums(self) -> None:
        body = {
            "card": {
                "title": "T",
                "mediaUrl": "https://cdn.site.se/a.jpg",
                "height": "Large",
                "orientation": "horizontal",
                "imageAlignment": "Right",
                "suggestions": [CALL],
            }
        }
        card = validate(body).card
        assert card is not None
        assert card_view(card) == {
            "title": "T",
            "mediaUrl": "https://cdn.site.se/a.jpg",
            "height": 3,
            "orientation": 2,
            "imageAlignment": 2,
            "suggestions": [
                {"type": 4, "typeName": "Dial", "text": "Ring oss", "phoneNumber": "468123456"}
            ],
        }
