"""Stored content as a GSMA MaaP `RCSMessage`: text, card, carousel, file and every
suggestion type."""

from __future__ import annotations

from typing import Any

import pytest

from rcsgate.content.maap import render_maap
from tests.content.helpers import card, suggestion

REPLY = suggestion(0, "Ja tack", postbackData="yes")


def chip(item: dict[str, Any]) -> dict[str, Any]:
    """The one chip `item` renders as, under a text message."""
    rendered = render_maap({"content": "Hej", "suggestions": [item]}, None)
    chips: list[dict[str, Any]] = rendered["suggestedChipList"]["suggestions"]
    assert len(chips) == 1
    return chips[0]


class TestText:
    def test_the_filled_text_is_the_message(self) -> None:
        rendered = render_maap({"content": "Hej {name}!"}, "Hej Kalle!")
        assert rendered == {"textMessage": "Hej Kalle!"}

    def test_without_filled_text_the_stored_text_is_used(self) -> None:
        assert render_maap({"content": "Hej!"}, None) == {"textMessage": "Hej!"}

    def test_message_suggestions_are_a_chip_list(self) -> None:
        rendered = render_maap({"content": "Hej", "suggestions": [REPLY]}, "Hej")
        assert rendered["suggestedChipList"] == {
            "suggestions": [{"reply": {"displayText": "Ja tack", "postback": {"data": "yes"}}}]
        }


class TestCard:
    def test_vertical_card_with_media_title_description_and_button(self) -> None:
        stored = {
            "card": card(
                content="Allt ska bort.",
                mediaUrl="https://cdn.site.se/rea.jpg",
                height=3,
                suggestions=[REPLY],
            )
        }
        assert render_maap(stored, None) == {
            "richcardMessage": {
                "message": {
                    "generalPurposeCard": {
                        "layout": {"cardOrientation": "VERTICAL"},
                        "content": {
                            "media": {
                                "mediaUrl": "https://cdn.site.se/rea.jpg",
                                "mediaContentType": "image/jpeg",
                                "height": "TALL_HEIGHT",
                            },
                            "title": "Vår-REA!",
                            "description": "Allt ska bort.",
                            "suggestions": [
                                {"reply": {"displayText": "Ja tack", "postback": {"data": "yes"}}}
                            ],
                        },
                    }
                }
            }
        }

    def test_horizontal_card_has_its_image_alignment(self) -> None:
        stored = {
            "card": card(mediaUrl="https://cdn.site.se/a.png", orientation=2, imageAlignment=2)
        }
        gp = render_maap(stored, None)["richcardMessage"]["message"]["generalPurposeCard"]
        assert gp["layout"] == {"cardOrientation": "HORIZONTAL", "imageAlignment": "RIGHT"}
        assert gp["content"]["media"]["height"] == "MEDIUM_HEIGHT"

    def test_a_video_card_names_its_thumbnail(self) -> None:
        stored = {
            "card": card(
                mediaUrl="https://cdn.site.se/film.mp4",
                thumbnailUrl="https://cdn.site.se/film.jpg?v=2",
            )
        }
        gp = render_maap(stored, None)["richcardMessage"]["message"]["generalPurposeCard"]
        assert gp["content"]["media"] == {
            "mediaUrl": "https://cdn.site.se/film.mp4",
            "mediaContentType": "video/mp4",
            "thumbnailUrl": "https://cdn.site.se/film.jpg?v=2",
            "thumbnailContentType": "image/jpeg",
            "height": "MEDIUM_HEIGHT",
        }

    def test_message_chips_go_beside_the_card(self) -> None:
        rendered = render_maap({"card": card(), "suggestions": [REPLY]}, None)
        assert set(rendered) == {"richcardMessage", "suggestedChipList"}


class TestCarousel:
    def test_cards_in_order_with_the_width(self) -> None:
        stored = {"cards": [card(title="Ett"), card(title="Två", content="2")], "width": 1}
        carousel = render_maap(stored, None)["richcardMessage"]["message"][
            "generalPurposeCardCarousel"
        ]
        assert carousel == {
            "layout": {"cardWidth": "SMALL_WIDTH"},
            "content": [{"title": "Ett"}, {"title": "Två", "description": "2"}],
        }

    def test_the_width_defaults_to_medium(self) -> None:
        carousel = render_maap({"cards": [card(), card()]}, None)["richcardMessage"]["message"][
            "generalPurposeCardCarousel"
        ]
        assert carousel["layout"] == {"cardWidth": "MEDIUM_WIDTH"}


class TestMedia:
    def test_a_file_message_with_type_name_and_thumbnail(self) -> None:
        stored = {
            "media": {
                "url": "https://cdn.site.se/docs/kvitto.pdf",
                "thumbnailUrl": "https://cdn.site.se/docs/kvitto.png",
            }
        }
        assert render_maap(stored, None) == {
            "fileMessage": {
                "fileUrl": "https://cdn.site.se/docs/kvitto.pdf",
                "fileMIMEType": "application/pdf",
                "fileName": "kvitto.pdf",
                "thumbnailUrl": "https://cdn.site.se/docs/kvitto.png",
                "thumbnailMIMEType": "image/png",
            }
        }

    def test_an_unknown_type_is_left_out(self) -> None:
        rendered = render_maap({"media": {"url": "https://cdn.site.se/file"}}, None)
        assert rendered == {
            "fileMessage": {"fileUrl": "https://cdn.site.se/file", "fileName": "file"}
        }


class TestSuggestions:
    def test_reply_postback_defaults_to_its_text(self) -> None:
        assert chip(suggestion(0, "Ja")) == {
            "reply": {"displayText": "Ja", "postback": {"data": "Ja"}}
        }

    @pytest.mark.parametrize(
        ("item", "action"),
        [
            (
                suggestion(1, "Shoppa", url="https://site.se/shop"),
                {"urlAction": {"openUrl": {"url": "https://site.se/shop"}}},
            ),
            (
                suggestion(6, "Läs", url="https://site.se/mer", webviewMode="Half"),
                {
                    "urlAction": {
                        "openUrl": {
                            "url": "https://site.se/mer",
                            "application": "webview",
                            "viewMode": "half",
                        }
                    }
                },
            ),
            (
                suggestion(2, "Karta", latitude=59.33, longitude=18.06, label="Butiken"),
                {
                    "mapAction": {
                        "showLocation": {
                            "location": {"latitude": 59.33, "longitude": 18.06, "label": "Butiken"}
                        }
                    }
                },
            ),
            (
                suggestion(2, "Hitta", query="Drottninggatan 1, Stockholm"),
                {
                    "mapAction": {
                        "showLocation": {"location": {"query": "Drottninggatan 1, Stockholm"}}
                    }
                },
            ),
            (suggestion(3, "Dela plats"), {"mapAction": {"requestLocationPush": {}}}),
            (
                suggestion(4, "Ring oss", phoneNumber="+46 8-123 456"),
                {"dialerAction": {"dialPhoneNumber": {"phoneNumber": "+468123456"}}},
            ),
            (
                suggestion(
                    5,
                    "Boka",
                    title="Möte",
                    description="Om våren",
                    startTime="2026-03-09T08:00:00Z",
                    endTime="2026-03-09T09:00:00+00:00",
                ),
                {
                    "calendarAction": {
                        "createCalendarEvent": {
                            "startTime": "2026-03-09T08:00:00Z",
                            "endTime": "2026-03-09T09:00:00Z",
                            "title": "Möte",
                            "description": "Om våren",
                        }
                    }
                },
            ),
        ],
        ids=["open-url", "webview", "location", "location-query", "share", "dial", "calendar"],
    )
    def test_each_action_type(self, item: dict[str, Any], action: dict[str, Any]) -> None:
        text = item["text"]
        assert chip({**item, "postbackData": "pb"}) == {
            "action": {"displayText": text, "postback": {"data": "pb"}, **action}
        }

    def test_open_url_carries_its_fallback_url(self) -> None:
        item = suggestion(1, "Shoppa", url="https://site.se/a", fallbackUrl="https://site.se/b")
        assert chip(item)["action"]["fallbackUrl"] == "https://site.se/b"
