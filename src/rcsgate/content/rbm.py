"""A message in Google RBM's `AgentContentMessage` shape (REST v1 `agentMessages.create`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcsgate.content.enums import (
    CardHeight,
    CardOrientation,
    CardWidth,
    ImageAlignment,
    SuggestionType,
    TrafficType,
)
from rcsgate.content.model import Card, MessageContent, Suggestion
from rcsgate.kit.clock import isoformat_z

HEIGHTS = {CardHeight.Small: "SHORT", CardHeight.Medium: "MEDIUM", CardHeight.Large: "TALL"}
WIDTHS = {CardWidth.Small: "SMALL", CardWidth.Medium: "MEDIUM"}
ALIGNMENTS = {ImageAlignment.Left: "LEFT", ImageAlignment.Right: "RIGHT"}
TRAFFIC = {
    TrafficType.Authentication: "AUTHENTICATION",
    TrafficType.Transaction: "TRANSACTION",
    TrafficType.Promotion: "PROMOTION",
    TrafficType.ServiceRequest: "SERVICEREQUEST",
    TrafficType.Acknowledgement: "ACKNOWLEDGEMENT",
}


def render_rbm(content: MessageContent) -> dict[str, Any]:
    """The `contentMessage` of one message (placeholders already filled)."""
    message: dict[str, Any] = {}
    if content.cards:
        message["richCard"] = {"carouselCard": _carousel(content)}
    elif content.card:
        message["richCard"] = {"standaloneCard": _standalone(content.card)}
    elif content.media:
        message["contentInfo"] = _file(content.media.url, content.media.thumbnail_url)
    else:
        message["text"] = content.content or ""
    if content.suggestions:
        message["suggestions"] = [rbm_suggestion(s) for s in content.suggestions]
    return message


def rbm_traffic_type(content: MessageContent) -> str | None:
    return TRAFFIC[content.traffic_type] if content.traffic_type else None


def rbm_postbacks(content: MessageContent) -> list[tuple[str, str]]:
    """(text, postbackData) of every suggestion, message chips first: what a phone can tap."""
    cards = [content.card] if content.card else content.cards or []
    chips = list(content.suggestions or [])
    for card in cards:
        chips.extend(card.suggestions or [])
    return [(s.text, postback_of(s)) for s in chips]


def postback_of(suggestion: Suggestion) -> str:
    return suggestion.postback_data or suggestion.text


def _standalone(card: Card) -> dict[str, Any]:
    orientation = card.orientation or CardOrientation.Vertical
    standalone: dict[str, Any] = {
        "cardOrientation": orientation.name.upper(),
        "cardContent": _card_content(card),
    }
    if card.image_alignment:
        standalone["thumbnailImageAlignment"] = ALIGNMENTS[card.image_alignment]
    return standalone


def _carousel(content: MessageContent) -> dict[str, Any]:
    return {
        "cardWidth": WIDTHS[content.width or CardWidth.Medium],
        "cardContents": [_card_content(card) for card in content.cards or []],
    }


def _card_content(card: Card) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if card.title:
        body["title"] = card.title
    if card.content:
        body["description"] = card.content
    if card.media_url:
        body["media"] = {
            "height": HEIGHTS[card.height or CardHeight.Medium],
            "contentInfo": _file(card.media_url, card.thumbnail_url),
        }
    if card.suggestions:
        body["suggestions"] = [rbm_suggestion(s) for s in card.suggestions]
    return body


def _file(url: str, thumbnail: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"fileUrl": str(url), "forceRefresh": False}
    if thumbnail:
        info["thumbnailUrl"] = str(thumbnail)
    return info


def rbm_suggestion(suggestion: Suggestion) -> dict[str, Any]:
    base = {"text": suggestion.text, "postbackData": postback_of(suggestion)}
    if suggestion.type is SuggestionType.Reply:
        return {"reply": base}
    action = {**base, **_ACTIONS[suggestion.type](suggestion)}
    if suggestion.fallback_url:
        action["fallbackUrl"] = str(suggestion.fallback_url)
    return {"action": action}


def _open_url(s: Suggestion) -> dict[str, Any]:
    return {"openUrlAction": {"url": str(s.url)}}


def _webview(s: Suggestion) -> dict[str, Any]:
    mode = (s.webview_mode or "Full").upper()
    return {"openUrlAction": {"url": str(s.url), "application": "WEBVIEW", "webviewViewMode": mode}}


def _view_location(s: Suggestion) -> dict[str, Any]:
    action: dict[str, Any] = {}
    if s.latitude is not None and s.longitude is not None:
        action["latLong"] = {"latitude": s.latitude, "longitude": s.longitude}
    if s.query:
        action["query"] = s.query
    if s.label:
        action["label"] = s.label
    return {"viewLocationAction": action}


def _calendar(s: Suggestion) -> dict[str, Any]:
    assert s.start_time is not None
    assert s.end_time is not None
    event: dict[str, Any] = {
        "title": s.title,
        "startTime": isoformat_z(s.start_time),
        "endTime": isoformat_z(s.end_time),
    }
    if s.description:
        event["description"] = s.description
    return {"createCalendarEventAction": event}


_ACTIONS: dict[SuggestionType, Callable[[Suggestion], dict[str, Any]]] = {
    SuggestionType.OpenUrl: _open_url,
    SuggestionType.OpenUrlInWebview: _webview,
    SuggestionType.ViewLocation: _view_location,
    SuggestionType.ShareLocation: lambda s: {"shareLocationAction": {}},
    SuggestionType.Dial: lambda s: {"dialAction": {"phoneNumber": s.phone_number}},
    SuggestionType.CalendarEvent: _calendar,
}
