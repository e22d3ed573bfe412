"""A message as a GSMA MaaP Chatbot API `RCSMessage` (FNW.11 / RCC.07 `bot/v1` messages).

Only the content is rendered here; the connector adds `msgId`, `expiry` and the contact.
An `RCSMessage` carries exactly one kind of content, so the order of precedence is the one
`render_rbm` uses: carousel, card, file, text. Text given beside a card is therefore not part
of the rendered card message.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from rcsgate.content.enums import (
    CardHeight,
    CardOrientation,
    CardWidth,
    ImageAlignment,
    SuggestionType,
    WebviewMode,
)
from rcsgate.content.model import Card, Media, MessageContent, Suggestion
from rcsgate.content.rbm import postback_of
from rcsgate.kit.clock import isoformat_z

HEIGHTS = {
    CardHeight.Small: "SHORT_HEIGHT",
    CardHeight.Medium: "MEDIUM_HEIGHT",
    CardHeight.Large: "TALL_HEIGHT",
}
WIDTHS = {CardWidth.Small: "SMALL_WIDTH", CardWidth.Medium: "MEDIUM_WIDTH"}
ALIGNMENTS = {ImageAlignment.Left: "LEFT", ImageAlignment.Right: "RIGHT"}
_DIAL_SEPARATORS = re.compile(r"[ -]")


def render_maap(content: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    """The `RCSMessage` of one stored content dict (API.md 2.6, camelCase as stored).

    `text` is the message text with its placeholders already filled; None means the stored
    `content` is used as it is.
    """
    model = MessageContent.model_validate(content)
    message: dict[str, Any]
    if model.cards:
        message = {"richcardMessage": {"message": {"generalPurposeCardCarousel": _carousel(model)}}}
    elif model.card:
        message = {"richcardMessage": {"message": {"generalPurposeCard": _card(model.card)}}}
    elif model.media:
        message = {"fileMessage": _file(model.media)}
    else:
        message = {"textMessage": text if text is not None else model.content or ""}
    if model.suggestions:
        chips = [maap_suggestion(s) for s in model.suggestions]
        message["suggestedChipList"] = {"suggestions": chips}
    return message


def _card(card: Card) -> dict[str, Any]:
    orientation = card.orientation or CardOrientation.Vertical
    layout = {"cardOrientation": orientation.name.upper()}
    if card.image_alignment:
        layout["imageAlignment"] = ALIGNMENTS[card.image_alignment]
    return {"layout": layout, "content": _card_content(card)}


def _carousel(content: MessageContent) -> dict[str, Any]:
    return {
        "layout": {"cardWidth": WIDTHS[content.width or CardWidth.Medium]},
        "content": [_card_content(card) for card in content.cards or []],
    }


def _card_content(card: Card) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if card.media_url:
        media = {"height": HEIGHTS[card.height or CardHeight.Medium]}
        media |= _typed("mediaUrl", "mediaContentType", card.media_url)
        if card.thumbnail_url:
            media |= _typed("thumbnailUrl", "thumbnailContentType", card.thumbnail_url)
        body["media"] = media
    if card.title:
        body["title"] = card.title
    if card.content:
        body["description"] = card.content
    if card.suggestions:
        body["suggestions"] = [maap_suggestion(s) for s in card.suggestions]
    return body


def _file(media: Media) -> dict[str, Any]:
    file = _typed("fileUrl", "fileMIMEType", media.url)
    name = PurePosixPath(urlsplit(media.url).path).name
    if name:
        file["fileName"] = name
    if media.thumbnail_url:
        file |= _typed("thumbnailUrl", "thumbnailMIMEType", media.thumbnail_url)
    return file


def _typed(url_key: str, type_key: str, url: str) -> dict[str, Any]:
    """A URL with its MIME type when the file name tells it: MaaP wants the type, and we hold
    only the URL (the file is fetched by the operator, not by us)."""
    mime, _ = mimetypes.guess_type(urlsplit(url).path)
    return {url_key: url, **({type_key: mime} if mime else {})}


def maap_suggestion(suggestion: Suggestion) -> dict[str, Any]:
    """A chip or card button: `reply`, or `action` with its typed action object."""
    base: dict[str, Any] = {
        "displayText": suggestion.text,
        "postback": {"data": postback_of(suggestion)},
    }
    if suggestion.type is SuggestionType.Reply:
        return {"reply": base}
    action = {**base, **_ACTIONS[suggestion.type](suggestion)}
    if suggestion.fallback_url:
        action["fallbackUrl"] = suggestion.fallback_url
    return {"action": action}


def _open_url(s: Suggestion) -> dict[str, Any]:
    return {"urlAction": {"openUrl": {"url": s.url}}}


def _webview(s: Suggestion) -> dict[str, Any]:
    mode = (s.webview_mode or WebviewMode.Full).value.lower()
    return {"urlAction": {"openUrl": {"url": s.url, "application": "webview", "viewMode": mode}}}


def _show_location(s: Suggestion) -> dict[str, Any]:
    where = {"latitude": s.latitude, "longitude": s.longitude, "query": s.query, "label": s.label}
    location = {key: value for key, value in where.items() if value is not None}
    return {"mapAction": {"showLocation": {"location": location}}}


def _dial(s: Suggestion) -> dict[str, Any]:
    number = _DIAL_SEPARATORS.sub("", s.phone_number or "")
    return {"dialerAction": {"dialPhoneNumber": {"phoneNumber": number}}}


def _calendar(s: Suggestion) -> dict[str, Any]:
    assert s.start_time is not None
    assert s.end_time is not None
    event: dict[str, Any] = {
        "startTime": isoformat_z(s.start_time),
        "endTime": isoformat_z(s.end_time),
        "title": s.title,
    }
    if s.description:
        event["description"] = s.description
    return {"calendarAction": {"createCalendarEvent": event}}


_ACTIONS: dict[SuggestionType, Callable[[Suggestion], dict[str, Any]]] = {
    SuggestionType.OpenUrl: _open_url,
    SuggestionType.OpenUrlInWebview: _webview,
    SuggestionType.ViewLocation: _show_location,
    SuggestionType.ShareLocation: lambda s: {"mapAction": {"requestLocationPush": {}}},
    SuggestionType.Dial: _dial,
    SuggestionType.CalendarEvent: _calendar,
}
