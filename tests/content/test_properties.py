"""Any JSON-like body built around the content fields validates, or fails with located errors."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rcsgate.content import (
    MAX_TTL_SECONDS,
    MessageContent,
    check_placeholders,
    fill,
    render_sms,
)
from rcsgate.errors import FieldError, ValidationFailed
from rcsgate.problems import validation_problem

Strategy = st.SearchStrategy[Any]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-2, MAX_TTL_SECONDS + 2)
    | st.floats()
    | st.text(max_size=30)
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def map_just(fields: dict[str, Any]) -> dict[str, Strategy]:
    return {name: st.just(value) for name, value in fields.items()}


class Values:
    """Values for each field: valid ones, plus (when wild) invalid and arbitrary JSON."""

    def __init__(self, wild: bool) -> None:
        self.wild = wild

    def pick(self, valid: list[Any], invalid: list[Any]) -> Strategy:
        if not self.wild:
            return st.sampled_from(valid)
        return st.one_of(st.sampled_from(valid + invalid), anything)

    def text(self, limit: int) -> Strategy:
        valid = st.text(min_size=1, max_size=min(limit, 40)) | st.sampled_from(
            ["x" * limit, "Hej {name}!", "{a}{b}"]
        )
        if not self.wild:
            return valid
        return st.one_of(valid, st.sampled_from(["", " ", "x" * (limit + 1)]), anything)

    def optional(self, fields: dict[str, Strategy], required: tuple[str, ...] = ()) -> Strategy:
        """Any field may be absent; when not wild, those in `required` are always there."""
        needed = {} if self.wild else {name: fields.pop(name) for name in required}
        return st.fixed_dictionaries(needed, optional=fields)

    def many(self, items: Strategy, low: int, high: int) -> Strategy:
        if not self.wild:
            return st.lists(items, min_size=low, max_size=high)
        return st.one_of(st.lists(items, max_size=high + 1), anything)

    def nested(self, strategy: Strategy) -> Strategy:
        return st.one_of(strategy, anything) if self.wild else strategy


NEEDS: dict[Any, dict[str, Any]] = {
    "Reply": {},
    1: {"url": "https://site.se/shop"},
    "ViewLocation": {"latitude": 59.33, "longitude": 18.06},
    2: {"query": "Kista"},
    3: {},
    "dial": {"phoneNumber": "+46 8-123 456"},
    5: {"title": "Rea", "startTime": "2026-03-09T08:00", "endTime": "2026-03-09T09:00:00Z"},
    "OpenUrlInWebview": {"url": "https://site.se", "webviewMode": "Tall"},
}


def suggestions(v: Values) -> Strategy:
    if not v.wild:
        return st.sampled_from(list(NEEDS.items())).flatmap(
            lambda item: st.fixed_dictionaries(
                {"type": st.just(item[0]), "text": v.text(25), **map_just(item[1])},
                optional={"postbackData": v.text(2048)},
            )
        )
    url = v.pick(["https://site.se/shop"], ["http://site.se", "https://", "ftp://x", "a b"])
    time = v.pick(["2026-03-09T08:00:00Z", "2026-03-09T09:00:00"], ["igår"])
    return v.optional(
        {
            "type": v.pick([0, 1, 2, 3, 4, 5, 6, "Reply", "openurl", "Dial"], [7, "x", -1]),
            "text": v.text(25),
            "postbackData": v.text(2048),
            "url": url,
            "fallbackUrl": url,
            "webviewMode": v.pick(["Full", "half"], ["Wide"]),
            "latitude": v.pick([59.33, -90, 90], [90.5, float("nan")]),
            "longitude": v.pick([18.06, 180], [-181]),
            "query": v.text(200),
            "label": v.text(100),
            "phoneNumber": v.pick(["468123456", "+46 8-123"], ["12", "abc", "+" + "1" * 21]),
            "title": v.text(100),
            "startTime": time,
            "endTime": time,
        }
    )


def cards(v: Values) -> Strategy:
    url = v.pick(["https://cdn.site.se/a.jpg"], ["http://cdn.site.se/a.jpg", ""])
    return v.optional(
        {
            "type": anything,
            "title": v.text(200),
            "content": v.text(2000),
            "mediaUrl": url,
            "thumbnailUrl": url,
            "height": v.pick([1, 2, 3, "Large", "small"], [4, 0]),
            "orientation": v.pick([1, 2, "Horizontal", "vertical"], [3]),
            "imageAlignment": v.pick([1, 2, "Left"], ["Up"]),
            "suggestions": v.many(suggestions(v), 0, 4),
        }
    )


def bodies(v: Values) -> Strategy:
    sms = v.optional({"content": v.text(1600), "sender": v.pick(["MinButik"], ["Min Butik"])})
    after = v.pick([1, 60, MAX_TTL_SECONDS], [0, MAX_TTL_SECONDS + 1])
    return v.optional(
        {
            "type": v.pick(["Text", "Card", "Carousel", "Carousell", "media"], ["Video", 1]),
            "content": v.text(3072),
            "card": v.nested(cards(v)),
            "cards": v.many(cards(v), 2, 10),
            "width": v.pick([1, 2, "Small", "Large"], [3]),
            "media": v.nested(v.optional({"url": v.pick(["https://a.se/f.pdf"], ["x"])}, ("url",))),
            "suggestions": v.many(suggestions(v), 0, 11),
            "ttl": v.pick([1, 3600, MAX_TTL_SECONDS], [0, MAX_TTL_SECONDS + 1]),
            "trafficType": v.pick(["Promotion", "transaction"], ["Spam"]),
            "fallback": v.nested(v.optional({"sms": v.nested(sms), "after": after})),
        }
    )


def check_valid(content: MessageContent) -> None:
    """A valid content survives storage, fills, renders and checks without surprises."""
    stored = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert MessageContent.model_validate(stored) == content
    assert fill(content, {}) == content
    assert isinstance(render_sms(content), str)
    assert all(error.field.startswith("/") for error in placeholder_errors(content))


def placeholder_errors(content: MessageContent) -> list[FieldError]:
    try:
        check_placeholders(content, {"46700123456": {"name": "Kalle"}})
    except ValidationFailed as failure:
        return failure.errors
    return []


def check(body: dict[str, Any]) -> None:
    try:
        content = MessageContent.model_validate(body)
    except ValidationError as error:
        errors = error.errors()
        assert errors
        assert all(e["loc"] for e in errors)
        problem = validation_problem([{**e, "loc": ("body", *e["loc"])} for e in errors])
        assert all(field.field.startswith("/") for field in problem.errors)
    else:
        check_valid(content)


@settings(max_examples=200, deadline=None)
@given(bodies(Values(wild=True)))
def test_any_body_validates_or_every_error_is_located(body: dict[str, Any]) -> None:
    check(body)


@settings(max_examples=200, deadline=None)
@given(bodies(Values(wild=False)))
def test_plausible_bodies_validate_or_break_only_cross_field_rules(body: dict[str, Any]) -> None:
    check(body)
