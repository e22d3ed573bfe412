"""`{key}` placeholders: found, filled per recipient, missing keys named, filled length checked."""

from __future__ import annotations

from typing import Any

import pytest

from rcsgate.content import (
    MAX_TEXT,
    MessageContent,
    check_placeholders,
    fill,
    missing_placeholders,
    placeholders,
)
from rcsgate.errors import ValidationFailed
from tests.content.helpers import card, validate


def numbers(count: int) -> list[str]:
    return [f"4670012{index:04d}" for index in range(count)]


def failure(content: MessageContent, recipients: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        check_placeholders(content, recipients)
    assert caught.value.status == 400
    return {error.field: error.message for error in caught.value.errors}


class TestPlaceholders:
    def test_in_order_of_first_appearance_each_once(self) -> None:
        assert placeholders("Hej {name}, koden {code} gäller {name}") == ["name", "code"]

    @pytest.mark.parametrize("text", ['{"a": 1}', "{ name }", "{}", "Hej", "{a b}"])
    def test_json_prose_and_empty_braces_are_not_placeholders(self, text: str) -> None:
        assert placeholders(text) == []

    def test_keys_may_hold_letters_digits_dots_and_dashes(self) -> None:
        assert placeholders("{förnamn} {order.id} {order-nr} {1}") == [
            "förnamn",
            "order.id",
            "order-nr",
            "1",
        ]


class TestFill:
    def test_fills_text_cards_and_the_sms_fallback(self) -> None:
        content = validate(
            {
                "content": "Hej {name}!",
                "cards": [card(title="{name}s kort", content="Kod {code}"), card()],
                "fallback": {"sms": {"content": "Hej {name}, kod {code}"}},
            }
        )
        filled = fill(content, {"name": "Kalle", "code": 42})
        assert filled.content == "Hej Kalle!"
        assert filled.cards is not None
        assert (filled.cards[0].title, filled.cards[0].content) == ("Kalles kort", "Kod 42")
        assert filled.fallback is not None
        assert filled.fallback.sms is not None
        assert filled.fallback.sms.content == "Hej Kalle, kod 42"

    def test_fills_a_single_card(self) -> None:
        content = validate({"card": card(title="Till {name}", content="{name}!")})
        assert (
            fill(content, {"name": "Eva"}).card
            == validate({"card": card(title="Till Eva", content="Eva!")}).card
        )

    def test_leaves_the_original_and_unknown_keys_as_they_are(self) -> None:
        content = validate({"content": "Hej {name}, {missing} {empty}"})
        filled = fill(content, {"name": "Kalle", "empty": None})
        assert filled.content == "Hej Kalle, {missing} {empty}"
        assert content.content == "Hej {name}, {missing} {empty}"

    @pytest.mark.parametrize(
        ("value", "text"), [(True, "true"), (False, "false"), (7, "7"), (1.5, "1.5"), ("", "")]
    )
    def test_values_read_as_text(self, value: object, text: str) -> None:
        assert fill(validate({"content": "<{v}>"}), {"v": value}).content == f"<{text}>"


class TestMissing:
    def test_names_each_key_and_its_first_recipients(self) -> None:
        content = validate({"content": "Hej {name}, kod {code}"})
        recipients: dict[str, dict[str, object]] = {
            "1": {"name": "A"},
            "2": {},
            "3": {"code": 1},
            "4": {},
            "5": {},
            "6": {},
        }
        assert missing_placeholders(content, recipients) == {
            "name": ["2", "3", "4"],
            "code": ["1", "2", "4"],
        }
        assert missing_placeholders(content, recipients, first=1) == {"name": ["2"], "code": ["1"]}

    def test_a_null_value_or_no_variables_count_as_missing(self) -> None:
        content = validate({"content": "Hej {name}"})
        recipients: dict[str, Any] = {"1": {"name": None}, "2": None, "3": {"name": "C"}}
        assert missing_placeholders(content, recipients) == {"name": ["1", "2"]}

    def test_nothing_missing(self) -> None:
        content = validate({"content": "Hej {name}"})
        assert missing_placeholders(content, {"1": {"name": "A"}}) == {}
        assert missing_placeholders(validate({"content": "Hej"}), {"1": {}}) == {}


class TestCheck:
    def test_passes_when_every_recipient_has_every_value(self) -> None:
        content = validate({"content": "Hej {name}", "card": card(title="{code}")})
        check_placeholders(content, {"1": {"name": "A", "code": 1}, "2": {"name": "B", "code": 2}})

    def test_names_the_key_and_the_first_three_recipients(self) -> None:
        content = validate({"content": "Hej {name}!"})
        recipients: dict[str, Any] = {number: {} for number in numbers(5)}
        assert failure(content, recipients) == {
            "/content": "placeholder {name} has no value for "
            "46700120000, 46700120001, 46700120002 and 2 more"
        }

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"card": card(title="Till {name}")}, "/card/title"),
            ({"cards": [card(), card(content="{name}")]}, "/cards/1/content"),
            (
                {"content": "Hej", "fallback": {"sms": {"content": "{name}"}}},
                "/fallback/sms/content",
            ),
        ],
    )
    def test_points_where_the_placeholder_is(self, body: dict[str, Any], pointer: str) -> None:
        assert set(failure(validate(body), {"46700123456": {}})) == {pointer}

    def test_every_missing_key_is_listed(self) -> None:
        content = validate({"content": "{a} {b}", "card": card(title="{c}")})
        assert failure(content, {"1": {"b": "x"}}) == {
            "/content": "placeholder {a} has no value for 1",
            "/card/title": "placeholder {c} has no value for 1",
        }

    def test_text_length_is_checked_after_filling(self) -> None:
        content = validate({"content": "x" * (MAX_TEXT - 5) + "{name}"})
        check_placeholders(content, {"1": {"name": "Kalle"}})
        errors = failure(content, {"1": {"name": "Kalle"}, "2": {"name": "Kalle!"}})
        assert errors == {"/content": "is over 3072 characters once filled for 2"}

    def test_card_title_length_is_checked_after_filling(self) -> None:
        content = validate({"card": card(title="t" * 195 + "{name}")})
        assert set(failure(content, {"1": {"name": "Kalle Anka"}})) == {"/card/title"}

    def test_a_hundred_thousand_recipients(self) -> None:
        content = validate({"content": "Hej {name}!"})
        recipients: dict[str, Any] = {number: {"name": "K"} for number in numbers(100_000)}
        check_placeholders(content, recipients)
        recipients["46700129999"] = {}
        assert set(failure(content, recipients)) == {"/content"}
