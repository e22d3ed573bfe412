"""Suggestions: types by integer or name, limits, and what each type needs."""

from __future__ import annotations

from typing import Any

import pytest

from rcsgate.content import Suggestion, SuggestionType
from tests.content.helpers import pointers, problems, suggestion, validate


def one(item: dict[str, Any]) -> Suggestion:
    suggestions = validate({"content": "Hej", "suggestions": [item]}).suggestions
    assert suggestions is not None
    return suggestions[0]


def errors_of(item: dict[str, Any]) -> dict[str, str]:
    return problems({"content": "Hej", "suggestions": [item]})


class TestType:
    @pytest.mark.parametrize("member", list(SuggestionType))
    def test_by_integer(self, member: SuggestionType) -> None:
        needs = NEEDS[member]
        assert one(suggestion(int(member), **needs)).type is member

    @pytest.mark.parametrize("member", list(SuggestionType))
    def test_by_name_in_any_case(self, member: SuggestionType) -> None:
        needs = NEEDS[member]
        assert one(suggestion(member.name, **needs)).type is member
        assert one(suggestion(member.name.upper(), **needs)).type is member

    @pytest.mark.parametrize("value", [7, -1, "Phone", True, 1.5, None, {"id": 1}])
    def test_anything_else_is_refused(self, value: Any) -> None:
        assert set(errors_of(suggestion(value))) == {"/suggestions/0/type"}

    def test_type_is_required(self) -> None:
        assert errors_of({"text": "OK"}) == {"/suggestions/0/type": "is required"}


class TestLimits:
    def test_text_of_25_and_26(self) -> None:
        assert one(suggestion(text="t" * 25)).text == "t" * 25
        assert set(errors_of(suggestion(text="t" * 26))) == {"/suggestions/0/text"}

    def test_text_may_not_be_empty(self) -> None:
        assert set(errors_of(suggestion(text=""))) == {"/suggestions/0/text"}

    def test_postback_data_of_2048_and_2049(self) -> None:
        assert one(suggestion(postbackData="p" * 2048)).postback_data == "p" * 2048
        assert set(errors_of(suggestion(postbackData="p" * 2049))) == {
            "/suggestions/0/postbackData"
        }


NEEDS: dict[SuggestionType, dict[str, Any]] = {
    SuggestionType.Reply: {},
    SuggestionType.OpenUrl: {"url": "https://site.se/shop"},
    SuggestionType.ViewLocation: {"query": "Drottninggatan 1, Stockholm"},
    SuggestionType.ShareLocation: {},
    SuggestionType.Dial: {"phoneNumber": "468123456"},
    SuggestionType.CalendarEvent: {
        "title": "Rea",
        "startTime": "2026-03-09T08:00:00Z",
        "endTime": "2026-03-09T09:00:00Z",
    },
    SuggestionType.OpenUrlInWebview: {"url": "https://site.se/shop"},
}


class TestPerType:
    @pytest.mark.parametrize(
        ("type_", "missing"),
        [
            ("OpenUrl", "url"),
            ("OpenUrlInWebview", "url"),
            ("Dial", "phoneNumber"),
            ("CalendarEvent", "title"),
            ("CalendarEvent", "startTime"),
            ("CalendarEvent", "endTime"),
        ],
    )
    def test_a_missing_field_is_located_at_that_field(self, type_: str, missing: str) -> None:
        fields = {k: v for k, v in NEEDS[SuggestionType[type_]].items() if k != missing}
        assert errors_of(suggestion(type_, **fields)) == {
            f"/suggestions/0/{missing}": f"is required when type is {type_}"
        }

    @pytest.mark.parametrize("field", ["url", "fallbackUrl"])
    def test_urls_must_be_https(self, field: str) -> None:
        item = suggestion(1, **{"url": "https://site.se", field: "http://site.se/x"})
        assert set(errors_of(item)) == {f"/suggestions/0/{field}"}

    def test_open_url_with_a_fallback(self) -> None:
        item = one(suggestion(1, url="https://site.se", fallbackUrl="https://site.se/kontakt"))
        assert item.fallback_url == "https://site.se/kontakt"

    @pytest.mark.parametrize("mode", ["Full", "half", "TALL"])
    def test_webview_modes(self, mode: str) -> None:
        item = one(suggestion(6, url="https://site.se", webviewMode=mode))
        assert item.webview_mode is not None
        assert item.webview_mode.lower() == mode.lower()

    def test_unknown_webview_mode_is_refused(self) -> None:
        item = suggestion(6, url="https://site.se", webviewMode="Tiny")
        assert set(errors_of(item)) == {"/suggestions/0/webviewMode"}

    @pytest.mark.parametrize(
        "number", ["468123456", "+468123456", "46101606060", "+46 8-123 456", "112"]
    )
    def test_dial_numbers_are_read_leniently(self, number: str) -> None:
        assert one(suggestion(4, phoneNumber=number)).phone_number == number

    @pytest.mark.parametrize("number", ["12", "1" * 21, "+46 (8) 123", "46 70 abc", "++46", "-46"])
    def test_dial_refuses_what_is_not_a_number(self, number: str) -> None:
        assert set(errors_of(suggestion(4, phoneNumber=number))) == {"/suggestions/0/phoneNumber"}

    @pytest.mark.parametrize(
        "place", [{"latitude": 59.33, "longitude": 18.06, "label": "Butiken"}, {"query": "Kista"}]
    )
    def test_view_location_by_coordinates_or_query(self, place: dict[str, Any]) -> None:
        assert one(suggestion(2, **place)).type is SuggestionType.ViewLocation

    @pytest.mark.parametrize(
        ("place", "pointer"),
        [
            ({}, "query"),
            ({"latitude": 59.3}, "longitude"),
            ({"longitude": 18.0, "query": "Kista"}, "latitude"),
            ({"latitude": 91, "longitude": 18.0}, "latitude"),
            ({"latitude": 59.3, "longitude": -181}, "longitude"),
        ],
    )
    def test_view_location_needs_both_coordinates_or_a_query(
        self, place: dict[str, Any], pointer: str
    ) -> None:
        assert set(errors_of(suggestion(2, **place))) == {f"/suggestions/0/{pointer}"}

    def test_calendar_event_times_are_utc(self) -> None:
        times = {"startTime": "2026-03-09T10:00:00+02:00", "endTime": "2026-03-09T09:00:00"}
        item = one(suggestion(5, title="Rea", description="Hela dagen", **times))
        dumped = item.model_dump(mode="json", by_alias=True)
        assert (dumped["startTime"], dumped["endTime"]) == (
            "2026-03-09T08:00:00Z",
            "2026-03-09T09:00:00Z",
        )

    @pytest.mark.parametrize("end", ["2026-03-09T08:00:00Z", "2026-03-09T07:00:00Z"])
    def test_calendar_event_must_end_after_it_starts(self, end: str) -> None:
        item = suggestion(5, title="Rea", startTime="2026-03-09T08:00:00Z", endTime=end)
        assert errors_of(item) == {"/suggestions/0/endTime": "must be after startTime"}

    def test_end_before_start_is_listed_with_other_errors(self) -> None:
        item = suggestion(
            5,
            text="",
            title="Rea",
            startTime="2026-03-09T08:00:00Z",
            endTime="2026-03-09T07:00:00Z",
        )
        assert set(errors_of(item)) == {"/suggestions/0/text", "/suggestions/0/endTime"}

    @pytest.mark.parametrize("type_", ["Reply", "ShareLocation"])
    def test_reply_and_share_location_need_only_text(self, type_: str) -> None:
        assert one(suggestion(type_)).type is SuggestionType[type_]

    def test_one_suggestion_with_several_errors_lists_them_all(self) -> None:
        item = {"type": "Dial", "text": "t" * 26, "postbackData": "p" * 2049}
        assert pointers({"content": "Hej", "suggestions": [suggestion(), item]}) == {
            "/suggestions/1/text",
            "/suggestions/1/postbackData",
            "/suggestions/1/phoneNumber",
        }
