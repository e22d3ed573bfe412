"""Message content (API.md 2.6): the models, placeholders, SMS rendering and response views.

Imports only `rcsgate.kit` and `rcsgate.errors`, so every resource can build on it.
"""

from rcsgate.content.enums import (
    CardHeight,
    CardOrientation,
    CardWidth,
    ImageAlignment,
    MessageType,
    SuggestionType,
    TrafficType,
    WebviewMode,
)
from rcsgate.content.model import (
    MAX_TEXT,
    MAX_TTL_SECONDS,
    Card,
    Fallback,
    Media,
    MessageContent,
    SmsFallback,
    Suggestion,
)
from rcsgate.content.placeholders import (
    check_placeholders,
    fill,
    missing_placeholders,
    placeholders,
)
from rcsgate.content.sms import render_sms
from rcsgate.content.views import card_view, suggestion_view

__all__ = [
    "MAX_TEXT",
    "MAX_TTL_SECONDS",
    "Card",
    "CardHeight",
    "CardOrientation",
    "CardWidth",
    "Fallback",
    "ImageAlignment",
    "Media",
    "MessageContent",
    "MessageType",
    "SmsFallback",
    "Suggestion",
    "SuggestionType",
    "TrafficType",
    "WebviewMode",
    "card_view",
    "check_placeholders",
    "fill",
    "missing_placeholders",
    "placeholders",
    "render_sms",
    "suggestion_view",
]
