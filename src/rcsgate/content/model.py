"""The content fields of API.md 2.6: text, rich card, carousel, media, suggestions, fallback.

Names or integers are accepted for every enum (see `enums`); unknown fields are ignored, so
the documented iP.1 bodies (a card's `"type": 1`, a stored card's `id` or `order`) validate
unchanged. Cross-field rules live in each model's `rules` and report at the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field

from rcsgate.content.enums import (
    CardHeightName,
    CardOrientation,
    CardOrientationName,
    CardWidthName,
    ImageAlignmentName,
    MessageType,
    MessageTypeName,
    SuggestionType,
    SuggestionTypeName,
    TrafficTypeName,
    WebviewModeName,
)
from rcsgate.content.rules import Fields, Problem, RuledModel
from rcsgate.content.template import fits_when_filled
from rcsgate.kit.schemas import HttpsUrl, Timestamp

MAX_TEXT = 3072
MAX_TTL_SECONDS = 15 * 24 * 3600
MAX_CARD_TITLE = 200
MAX_CARD_CONTENT = 2000
MAX_SMS = 1600
MAX_SUGGESTIONS = 11
MAX_CARD_SUGGESTIONS = 4
MIN_CARDS, MAX_CARDS = 2, 10

_DIAL = re.compile(r"^\+?[0-9][0-9 -]*$")
_SENDER = re.compile(r"^(?:[A-Za-z0-9]{1,11}|\+?[0-9]{1,15})$")


def _dial_number(value: str) -> str:
    digits = sum(c.isdigit() for c in value)
    if not _DIAL.match(value) or not 3 <= digits <= 20:
        raise ValueError("must be a phone number: 3-20 digits, an optional leading +, spaces or -")
    return value


def _sms_sender(value: str) -> str:
    if not _SENDER.match(value):
        raise ValueError("must be up to 11 letters and digits, or a number of up to 15 digits")
    return value


def _utc_seconds(moment: datetime) -> datetime:
    """A time without an offset is read as UTC; whole seconds, as responses show it."""
    moment = moment.replace(microsecond=0)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


DialNumber = Annotated[str, AfterValidator(_dial_number)]
EventTime = Annotated[Timestamp, AfterValidator(_utc_seconds)]
Ttl = Annotated[int, Field(ge=1, le=MAX_TTL_SECONDS)]

# What each suggestion type needs besides `type` and `text`.
_NEEDS: dict[SuggestionType, tuple[str, ...]] = {
    SuggestionType.OpenUrl: ("url",),
    SuggestionType.OpenUrlInWebview: ("url",),
    SuggestionType.Dial: ("phone_number",),
    SuggestionType.CalendarEvent: ("title", "start_time", "end_time"),
}


class Suggestion(RuledModel):
    """A chip under a message or a button on a card; what else it needs depends on `type`."""

    type: SuggestionTypeName = Field(
        description="0 Reply, 1 OpenUrl, 2 ViewLocation, 3 ShareLocation, 4 Dial, "
        "5 CalendarEvent, 6 OpenUrlInWebview; the integer or the name (any case)",
        examples=[1, "OpenUrl"],
    )
    text: str = Field(
        min_length=1, max_length=25, description="The label, 1-25 characters", examples=["Se utbud"]
    )
    postback_data: str | None = Field(
        default=None,
        max_length=2048,
        description="Sent back in the `message.inbound` webhook when tapped; up to 2,048 chars",
        examples=["shop_click"],
    )
    url: HttpsUrl | None = Field(
        default=None,
        description="OpenUrl and OpenUrlInWebview: the https URL to open",
        examples=["https://site.se/shop"],
    )
    fallback_url: HttpsUrl | None = Field(
        default=None,
        description="OpenUrl: opened where the device cannot perform the action",
        examples=["https://site.se/contact"],
    )
    webview_mode: WebviewModeName | None = Field(
        default=None, description="OpenUrlInWebview: Full, Half or Tall", examples=["Half"]
    )
    latitude: float | None = Field(
        default=None, ge=-90, le=90, allow_inf_nan=False, description="ViewLocation, with longitude"
    )
    longitude: float | None = Field(
        default=None,
        ge=-180,
        le=180,
        allow_inf_nan=False,
        description="ViewLocation, with latitude",
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="ViewLocation: a place to search for, instead of latitude and longitude",
        examples=["Drottninggatan 1, Stockholm"],
    )
    label: str | None = Field(
        default=None, max_length=100, description="ViewLocation: the pin's label"
    )
    phone_number: DialNumber | None = Field(
        default=None,
        description="Dial: 3-20 digits, optionally with a leading +, spaces or dashes",
        examples=["468123456", "+46 8 123 456"],
    )
    title: str | None = Field(
        default=None, min_length=1, max_length=100, description="CalendarEvent: the event's title"
    )
    description: str | None = Field(
        default=None, max_length=500, description="CalendarEvent: the event's description"
    )
    start_time: EventTime | None = Field(
        default=None,
        description="CalendarEvent: start, ISO 8601 (no offset means UTC)",
        examples=["2026-03-09T08:00:00Z"],
    )
    end_time: EventTime | None = Field(
        default=None,
        description="CalendarEvent: end, after the start",
        examples=["2026-03-09T09:00:00Z"],
    )

    @classmethod
    def rules(cls, fields: Fields) -> Iterator[Problem]:
        kind = fields.value("type")
        if kind is None:
            return
        for name in _NEEDS.get(kind, ()):
            if not fields.given(name):
                yield fields.problem(name, f"is required when type is {kind.name}", "required")
        if kind is SuggestionType.ViewLocation:
            yield from _location_rules(fields)
        if kind is SuggestionType.CalendarEvent:
            start, end = fields.value("start_time"), fields.value("end_time")
            if start is not None and end is not None and end <= start:
                yield fields.problem("end_time", "must be after startTime")


def _location_rules(fields: Fields) -> Iterator[Problem]:
    latitude, longitude = fields.given("latitude"), fields.given("longitude")
    if latitude != longitude:
        missing = "longitude" if latitude else "latitude"
        yield fields.problem(missing, "latitude and longitude go together", "required")
    elif not latitude and not fields.given("query"):
        yield fields.problem(
            "query", "is required unless latitude and longitude are given", "required"
        )


class Card(RuledModel):
    """One rich card: at least one of title, content or mediaUrl (iP.1's `type` is ignored)."""

    title: Annotated[str, fits_when_filled(MAX_CARD_TITLE)] | None = Field(
        default=None,
        description="Up to 200 characters after `{key}` placeholders are filled",
        examples=["Vår-REA!"],
    )
    content: Annotated[str, fits_when_filled(MAX_CARD_CONTENT)] | None = Field(
        default=None,
        description="The description, up to 2,000 characters after placeholders are filled",
        examples=["Nu tömmer vi lagret inför sommaren."],
    )
    media_url: HttpsUrl | None = Field(
        default=None,
        description="An https image or video",
        examples=["https://cdn.site.se/spring-sale.jpg"],
    )
    thumbnail_url: HttpsUrl | None = Field(
        default=None, description="An https thumbnail shown while a video loads"
    )
    height: CardHeightName | None = Field(
        default=None, description="Media height: 1 Small, 2 Medium, 3 Large", examples=[2]
    )
    orientation: CardOrientationName | None = Field(
        default=None, description="1 Vertical, 2 Horizontal", examples=[1]
    )
    image_alignment: ImageAlignmentName | None = Field(
        default=None, description="Horizontal cards only: 1 Left, 2 Right", examples=[1]
    )
    suggestions: list[Suggestion] | None = Field(
        default=None, max_length=MAX_CARD_SUGGESTIONS, description="Up to 4 buttons on the card"
    )

    @classmethod
    def rules(cls, fields: Fields) -> Iterator[Problem]:
        if all(_blank(fields.get(name)) for name in ("title", "content", "media_url")):
            yield Problem((), "a card needs a title, content or mediaUrl", "required")
        horizontal = fields.value("orientation") is CardOrientation.Horizontal
        if fields.given("image_alignment") and not horizontal:
            yield fields.problem(
                "image_alignment", "applies only with orientation 2 (Horizontal)", "conflict"
            )


class Media(RuledModel):
    """One image, video, audio or PDF file sent as the message."""

    url: HttpsUrl = Field(description="The https file", examples=["https://cdn.site.se/film.mp4"])
    thumbnail_url: HttpsUrl | None = Field(
        default=None, description="An https thumbnail", examples=["https://cdn.site.se/film.jpg"]
    )


class SmsFallback(RuledModel):
    """The SMS sent when RCS cannot deliver; by default a plain-text rendering of the message."""

    content: Annotated[str, fits_when_filled(MAX_SMS)] | None = Field(
        default=None,
        description="The SMS text, up to 1,600 characters after placeholders are filled; "
        "default: text, card titles and descriptions and the URLs of URL suggestions",
        examples=["Hej {name}! Vår-REA: https://site.se/shop"],
    )
    sender: Annotated[str, AfterValidator(_sms_sender)] | None = Field(
        default=None,
        description="Up to 11 letters and digits, or up to 15 digits, verified for the account "
        "(else 403); default: the agent's smsSender, else the platform's sender",
        examples=["MinButik"],
    )


class Fallback(RuledModel):
    """When and how a message that RCS cannot deliver goes out as SMS instead."""

    sms: SmsFallback | None = Field(default=None, description="The SMS to send instead")
    after: Ttl | None = Field(
        default=None,
        description="Seconds to wait for RCS delivery before revoking and sending the SMS "
        "(1 s to 15 days)",
        examples=[3600],
    )


class MessageContent(RuledModel):
    """The content fields of API.md 2.6, flat; request models inherit and add their own.

    `type` is derived from the fields when absent (cards → Carousel, card → Card, media →
    Media, else Text); text together with one card is allowed, as in the iP.1 example.
    """

    type: MessageTypeName | None = Field(
        default=None,
        description="Text, Card, Carousel (also `Carousell`) or Media, any case; derived from "
        "the fields when absent, and must agree with them when given",
        examples=["Card"],
    )
    content: Annotated[str, fits_when_filled(MAX_TEXT)] | None = Field(
        default=None,
        description="The text, up to 3,072 characters after `{key}` placeholders are filled "
        "from the recipient's variables; required unless card, cards or media is given",
        examples=["Hej {name}! Här är ett exklusivt erbjudande till dig."],
    )
    card: Card | None = Field(default=None, description="One rich card")
    cards: list[Card] | None = Field(
        default=None,
        min_length=MIN_CARDS,
        max_length=MAX_CARDS,
        description="A carousel of 2-10 cards",
    )
    width: CardWidthName | None = Field(
        default=None, description="Carousel card width: 1 Small, 2 Medium", examples=[1]
    )
    media: Media | None = Field(default=None, description="One file instead of text or cards")
    suggestions: list[Suggestion] | None = Field(
        default=None, max_length=MAX_SUGGESTIONS, description="Up to 11 chips under the message"
    )
    ttl: Ttl | None = Field(
        default=None,
        description="Seconds (1 s to 15 days) after which an undelivered message expires "
        "and is revoked at the operator",
        examples=[86400],
    )
    traffic_type: TrafficTypeName | None = Field(
        default=None,
        description="Authentication, Transaction, Promotion, ServiceRequest or "
        "Acknowledgement; default from the agent's use case",
        examples=["Promotion"],
    )
    fallback: Fallback | None = Field(default=None, description="SMS fallback")

    @classmethod
    def rules(cls, fields: Fields) -> Iterator[Problem]:
        card, cards, media = (fields.given(name) for name in ("card", "cards", "media"))
        if card and cards:
            yield fields.problem("cards", "cannot be combined with card", "conflict")
        if media and (card or cards):
            yield fields.problem("media", "cannot be combined with card or cards", "conflict")
        if not (card or cards or media) and _blank(fields.get("content")):
            yield fields.problem(
                "content", "is required unless card, cards or media is given", "required"
            )
        if not (card and cards) and not (media and (card or cards)):
            yield from _type_rules(fields, derived_type(card, cards, media))
        yield from _carousel_size(fields)

    def completed(self) -> Self:
        if self.type is None:
            present = (self.card, self.cards, self.media)
            self.type = derived_type(*(value is not None for value in present))
        return self


def derived_type(card: bool, cards: bool, media: bool) -> MessageType:
    """The message type the fields present imply."""
    if cards:
        return MessageType.Carousel
    if card:
        return MessageType.Card
    return MessageType.Media if media else MessageType.Text


def _carousel_size(fields: Fields) -> Iterator[Problem]:
    """Pydantic checks a list's minimum only once every item is valid; this reports it anyway
    (the same error, so it is not listed twice when pydantic did report it)."""
    cards = fields.get("cards")
    if isinstance(cards, list) and len(cards) < MIN_CARDS:
        message = f"List should have at least {MIN_CARDS} items after validation, not {len(cards)}"
        yield fields.problem("cards", message, "too_short")


def _type_rules(fields: Fields, derived: MessageType) -> Iterator[Problem]:
    declared = fields.value("type")
    if declared is not None and declared is not derived:
        yield fields.problem("type", f"is {declared} but the fields make it {derived}", "conflict")
