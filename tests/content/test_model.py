"""The content fields of API.md 2.6: limits at their edges, types, conflicts, error pointers."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, ValidationError

from rcsgate.content import (
    MAX_TEXT,
    MAX_TTL_SECONDS,
    Card,
    MessageContent,
    MessageType,
    TrafficType,
    fill,
)
from tests.content.helpers import card, pointers, problems, suggestion, validate


class TestText:
    def test_at_the_limit_is_valid(self) -> None:
        assert validate({"content": "x" * MAX_TEXT}).content == "x" * MAX_TEXT

    def test_one_past_the_limit_is_refused(self) -> None:
        assert problems({"content": "x" * (MAX_TEXT + 1)}) == {
            "/content": "String should have at most 3072 characters"
        }

    def test_a_template_that_can_still_fit_once_filled_is_accepted(self) -> None:
        template = "x" * (MAX_TEXT - 2) + "{a}{b}"
        assert validate({"content": template}).content == template

    def test_a_template_too_long_even_with_empty_values_is_refused(self) -> None:
        assert pointers({"content": "x" * (MAX_TEXT + 1) + "{name}"}) == {"/content"}

    @pytest.mark.parametrize("body", [{}, {"content": ""}, {"content": "   "}, {"ttl": 60}])
    def test_is_required_without_card_cards_or_media(self, body: dict[str, Any]) -> None:
        assert problems(body) == {"/content": "is required unless card, cards or media is given"}

    @pytest.mark.parametrize("field", ["card", "cards", "media"])
    def test_is_optional_with_a_card_cards_or_media(self, field: str) -> None:
        bodies = {
            "card": card(),
            "cards": [card(), card()],
            "media": {"url": "https://cdn.site.se/film.mp4"},
        }
        assert validate({field: bodies[field]}).content is None


class TestType:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"content": "Hej"}, MessageType.Text),
            ({"card": card()}, MessageType.Card),
            ({"content": "Hej", "card": card()}, MessageType.Card),
            ({"cards": [card(), card()]}, MessageType.Carousel),
            ({"media": {"url": "https://cdn.site.se/a.pdf"}}, MessageType.Media),
        ],
    )
    def test_is_derived_from_the_fields(self, body: dict[str, Any], expected: MessageType) -> None:
        assert validate(body).type is expected

    @pytest.mark.parametrize(
        "name", ["Carousel", "carousel", "Carousell", "CAROUSELL", " carousel "]
    )
    def test_carousel_names_and_the_ip1_spelling(self, name: str) -> None:
        assert validate({"type": name, "cards": [card(), card()]}).type is MessageType.Carousel

    @pytest.mark.parametrize("name", ["text", "TEXT", "Text"])
    def test_names_are_case_insensitive(self, name: str) -> None:
        assert validate({"type": name, "content": "Hej"}).type is MessageType.Text

    @pytest.mark.parametrize(
        ("declared", "body"),
        [
            ("Text", {"card": card()}),
            ("Text", {"content": "Hej", "card": card()}),
            ("Card", {"content": "Hej"}),
            ("Card", {"cards": [card(), card()]}),
            ("Carousel", {"card": card()}),
            ("Media", {"content": "Hej"}),
            ("Text", {"media": {"url": "https://cdn.site.se/a.jpg"}}),
        ],
    )
    def test_a_type_contradicting_the_fields_is_refused(
        self, declared: str, body: dict[str, Any]
    ) -> None:
        assert pointers({"type": declared, **body}) == {"/type"}

    @pytest.mark.parametrize("value", ["Video", 1, True, ["Text"]])
    def test_an_unknown_type_is_refused(self, value: Any) -> None:
        message = problems({"type": value, "content": "Hej"})["/type"]
        assert message == "must be one of Text, Card, Carousel, Media"


class TestCombinations:
    def test_card_and_cards_together_are_refused(self) -> None:
        body = {"card": card(), "cards": [card(), card()]}
        assert problems(body) == {"/cards": "cannot be combined with card"}

    @pytest.mark.parametrize("other", [{"card": card()}, {"cards": [card(), card()]}])
    def test_media_with_cards_is_refused(self, other: dict[str, Any]) -> None:
        body = {"media": {"url": "https://cdn.site.se/a.jpg"}, **other}
        assert pointers(body) == {"/media"}


class TestCard:
    def test_title_at_200_and_201(self) -> None:
        assert validate({"card": card(title="t" * 200)}).card is not None
        assert pointers({"card": card(title="t" * 201)}) == {"/card/title"}

    def test_description_at_2000_and_2001(self) -> None:
        assert validate({"card": card(content="d" * 2000)}).card is not None
        assert pointers({"card": card(content="d" * 2001)}) == {"/card/content"}

    @pytest.mark.parametrize("field", ["title", "content", "mediaUrl"])
    def test_any_one_of_title_content_media_is_enough(self, field: str) -> None:
        value = "https://cdn.site.se/a.jpg" if field == "mediaUrl" else "x"
        assert validate({"card": {field: value}}).card is not None

    @pytest.mark.parametrize("body", [{}, {"title": "", "content": " "}, {"height": 1}])
    def test_needs_title_content_or_media_located_on_the_card(self, body: dict[str, Any]) -> None:
        assert problems({"card": body}) == {"/card": "a card needs a title, content or mediaUrl"}

    @pytest.mark.parametrize("field", ["mediaUrl", "thumbnailUrl"])
    def test_urls_must_be_https(self, field: str) -> None:
        assert validate({"card": card(**{field: "https://cdn.site.se/a.jpg"})}).card is not None
        assert pointers({"card": card(**{field: "http://cdn.site.se/a.jpg"})}) == {f"/card/{field}"}

    @pytest.mark.parametrize(
        ("field", "given", "stored"),
        [
            ("height", 1, 1),
            ("height", "Medium", 2),
            ("height", "large", 3),
            ("orientation", "Vertical", 1),
            ("orientation", 2, 2),
            ("orientation", "2", 2),
        ],
    )
    def test_enums_by_integer_or_name_are_stored_as_integers(
        self, field: str, given: Any, stored: int
    ) -> None:
        parsed = validate({"card": card(**{field: given})}).card
        assert parsed is not None
        assert getattr(parsed, field) == stored
        assert parsed.model_dump(mode="json", by_alias=True)[field] == stored

    @pytest.mark.parametrize(("field", "value"), [("height", 4), ("orientation", "Diagonal")])
    def test_unknown_enum_values_are_refused(self, field: str, value: Any) -> None:
        assert pointers({"card": card(**{field: value})}) == {f"/card/{field}"}

    @pytest.mark.parametrize("alignment", [1, "Left", 2, "right"])
    def test_image_alignment_on_a_horizontal_card(self, alignment: Any) -> None:
        body = {"card": card(orientation="Horizontal", imageAlignment=alignment)}
        assert validate(body).card is not None

    @pytest.mark.parametrize("orientation", [{}, {"orientation": 1}])
    def test_image_alignment_needs_a_horizontal_card(self, orientation: dict[str, Any]) -> None:
        body = {"card": card(imageAlignment=1, **orientation)}
        assert pointers(body) == {"/card/imageAlignment"}

    def test_four_suggestions_and_not_five(self) -> None:
        assert validate({"card": card(suggestions=[suggestion()] * 4)}).card is not None
        assert pointers({"card": card(suggestions=[suggestion()] * 5)}) == {"/card/suggestions"}


class TestCarousel:
    @pytest.mark.parametrize("count", [2, 10])
    def test_two_to_ten_cards(self, count: int) -> None:
        cards = validate({"cards": [card()] * count}).cards
        assert cards is not None
        assert len(cards) == count

    @pytest.mark.parametrize("count", [0, 1, 11])
    def test_fewer_than_two_or_more_than_ten_are_refused(self, count: int) -> None:
        assert pointers({"cards": [card()] * count}) == {"/cards"}

    def test_too_few_cards_is_listed_even_when_a_card_is_invalid(self) -> None:
        assert pointers({"cards": [{}]}) == {"/cards", "/cards/0"}

    @pytest.mark.parametrize(("given", "stored"), [(1, 1), ("Small", 1), (2, 2), ("medium", 2)])
    def test_width_by_integer_or_name(self, given: Any, stored: int) -> None:
        assert validate({"cards": [card(), card()], "width": given}).width == stored

    def test_ip1s_large_width_means_medium(self) -> None:
        assert validate({"cards": [card(), card()], "width": "Large"}).width == 2

    @pytest.mark.parametrize("width", [0, 3, "Huge"])
    def test_other_widths_are_refused(self, width: Any) -> None:
        assert pointers({"cards": [card(), card()], "width": width}) == {"/width"}


class TestMessageFields:
    def test_eleven_suggestions_and_not_twelve(self) -> None:
        assert validate({"content": "Hej", "suggestions": [suggestion()] * 11}).suggestions
        assert pointers({"content": "Hej", "suggestions": [suggestion()] * 12}) == {"/suggestions"}

    @pytest.mark.parametrize("ttl", [1, MAX_TTL_SECONDS])
    def test_ttl_from_one_second_to_fifteen_days(self, ttl: int) -> None:
        assert validate({"content": "Hej", "ttl": ttl}).ttl == ttl

    @pytest.mark.parametrize("ttl", [0, MAX_TTL_SECONDS + 1, -5, "soon"])
    def test_ttl_outside_is_refused(self, ttl: Any) -> None:
        assert pointers({"content": "Hej", "ttl": ttl}) == {"/ttl"}

    @pytest.mark.parametrize("name", ["Promotion", "promotion", "SERVICEREQUEST"])
    def test_traffic_type_names_in_any_case(self, name: str) -> None:
        parsed = validate({"content": "Hej", "trafficType": name})
        assert parsed.traffic_type in set(TrafficType)

    def test_unknown_traffic_type_is_refused(self) -> None:
        assert pointers({"content": "Hej", "trafficType": "Marketing"}) == {"/trafficType"}

    def test_media_needs_an_https_url(self) -> None:
        assert validate({"media": {"url": "https://cdn.site.se/a.pdf"}}).media is not None
        assert pointers({"media": {"url": "http://cdn.site.se/a.pdf"}}) == {"/media/url"}
        assert problems({"media": {}}) == {"/media/url": "is required"}


class TestFallback:
    @pytest.mark.parametrize("after", [1, MAX_TTL_SECONDS])
    def test_after_within_range(self, after: int) -> None:
        parsed = validate({"content": "Hej", "fallback": {"after": after}})
        assert parsed.fallback is not None
        assert parsed.fallback.after == after

    @pytest.mark.parametrize("after", [0, MAX_TTL_SECONDS + 1])
    def test_after_out_of_range(self, after: int) -> None:
        assert pointers({"content": "Hej", "fallback": {"after": after}}) == {"/fallback/after"}

    def test_sms_content_at_1600_and_1601(self) -> None:
        assert validate({"content": "Hej", "fallback": {"sms": {"content": "s" * 1600}}})
        body = {"content": "Hej", "fallback": {"sms": {"content": "s" * 1601}}}
        assert pointers(body) == {"/fallback/sms/content"}

    @pytest.mark.parametrize("sender", ["MinButik", "ABCDEFGHIJK", "46700123456", "+4670012345678"])
    def test_valid_senders(self, sender: str) -> None:
        assert validate({"content": "Hej", "fallback": {"sms": {"sender": sender}}})

    @pytest.mark.parametrize("sender", ["ABCDEFGHIJKL", "1234567890123456", "Min Butik", ""])
    def test_invalid_senders(self, sender: str) -> None:
        body = {"content": "Hej", "fallback": {"sms": {"sender": sender}}}
        assert pointers(body) == {"/fallback/sms/sender"}


class TestErrorPointers:
    def test_a_deep_error_points_at_its_field(self) -> None:
        cards = [card(), card(), card(), card(suggestions=[suggestion(text="t" * 26)])]
        assert pointers({"cards": cards}) == {"/cards/3/suggestions/0/text"}

    def test_every_bad_field_is_listed_at_once(self) -> None:
        body = {
            "type": "Text",
            "cards": [card(title="t" * 201), {}, card(suggestions=[suggestion(1)])],
            "ttl": 0,
            "trafficType": "Spam",
            "suggestions": [suggestion("Dial")],
            "fallback": {"after": 0, "sms": {"sender": "far too long sender"}},
        }
        assert pointers(body) == {
            "/type",
            "/cards/0/title",
            "/cards/1",
            "/cards/2/suggestions/0/url",
            "/ttl",
            "/trafficType",
            "/suggestions/0/phoneNumber",
            "/fallback/after",
            "/fallback/sms/sender",
        }

    def test_a_request_model_inheriting_the_content_keeps_the_pointers(self) -> None:
        class Request(MessageContent):
            brand: str = Field(min_length=1)

        with pytest.raises(ValidationError) as caught:
            Request.model_validate({"brand": "", "type": "Card", "cards": [card(), card()]})
        assert {error["loc"] for error in caught.value.errors()} == {("brand",), ("type",)}
        request = Request.model_validate({"brand": "b", "content": "Hej {name}"})
        assert fill(request, {"name": "Kalle"}).brand == "b"


class TestWire:
    def test_unknown_fields_are_ignored(self) -> None:
        assert validate({"content": "Hej", "colour": "red", "card_extra": 1}).content == "Hej"

    def test_python_names_are_accepted_too(self) -> None:
        parsed = validate({"content": "Hej", "traffic_type": "Promotion"})
        assert parsed.traffic_type is TrafficType.Promotion

    def test_dumps_camel_case_and_validates_again_unchanged(self) -> None:
        body = {
            "content": "Hej {name}",
            "card": card(
                mediaUrl="https://cdn.site.se/a.jpg",
                imageAlignment="Left",
                orientation="horizontal",
            ),
            "suggestions": [suggestion("OpenUrl", url="https://site.se", postbackData="p")],
            "trafficType": "promotion",
            "fallback": {"sms": {"content": "Hej", "sender": "MinButik"}, "after": 60},
        }
        dumped = validate(body).model_dump(mode="json", by_alias=True, exclude_none=True)
        assert dumped["card"]["imageAlignment"] == 1
        assert dumped["suggestions"][0]["postbackData"] == "p"
        assert dumped["trafficType"] == "Promotion"
        assert validate(dumped) == validate(body)

    def test_card_accepts_the_ip1_card_type(self) -> None:
        assert Card.model_validate({"title": "Vår-REA!", "type": 1}).title == "Vår-REA!"
