"""The enumerations of the content fields, and how names or integers on the wire become them.

Every integer enum is accepted as its integer or its name in any case (`1`, `"OpenUrl"`,
`"openurl"`) and stored as the integer; string enums accept any case. iP.1's spellings that
differ from ours (`"Carousell"`, card width `"Large"`) are aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum, IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator


class MessageType(StrEnum):
    """What a message carries: text only, one rich card, a carousel of cards, or one file."""

    Text = "Text"
    Card = "Card"
    Carousel = "Carousel"
    Media = "Media"


class SuggestionType(IntEnum):
    """The action of a suggestion chip or card button."""

    Reply = 0
    OpenUrl = 1
    ViewLocation = 2
    ShareLocation = 3
    Dial = 4
    CalendarEvent = 5
    OpenUrlInWebview = 6


class TrafficType(StrEnum):
    """The operator's traffic category; defaults from the agent's use case."""

    Authentication = "Authentication"
    Transaction = "Transaction"
    Promotion = "Promotion"
    ServiceRequest = "ServiceRequest"
    Acknowledgement = "Acknowledgement"


class CardHeight(IntEnum):
    """The height of a card's media."""

    Small = 1
    Medium = 2
    Large = 3


class CardOrientation(IntEnum):
    """Media above the text (vertical) or beside it (horizontal)."""

    Vertical = 1
    Horizontal = 2


class ImageAlignment(IntEnum):
    """The side of the media on a horizontal card."""

    Left = 1
    Right = 2


class CardWidth(IntEnum):
    """The width of the cards of a carousel."""

    Small = 1
    Medium = 2


class WebviewMode(StrEnum):
    """How much of the screen an in-app webview takes."""

    Full = "Full"
    Half = "Half"
    Tall = "Tall"


def _choices(enum: type[Enum]) -> str:
    if issubclass(enum, IntEnum):
        return ", ".join(f"{member.value} ({member.name})" for member in enum)
    return ", ".join(member.value for member in enum)


def _table(enum: type[Enum], aliases: Mapping[str, Enum]) -> dict[object, Enum]:
    table: dict[object, Enum] = {member.name.lower(): member for member in enum}
    table.update({alias.lower(): member for alias, member in aliases.items()})
    if issubclass(enum, IntEnum):
        table.update({member.value: member for member in enum})
        table.update({str(member.value): member for member in enum})
    return table


def by_name(enum: type[Enum], aliases: Mapping[str, Enum] | None = None) -> Callable[[Any], Any]:
    """A before-validator: an integer, name or alias (any case) → the member, else a clear error."""
    table = _table(enum, aliases or {})
    message = f"must be one of {_choices(enum)}"

    def parse(value: Any) -> Any:
        if isinstance(value, enum):
            return value
        key = value.strip().lower() if isinstance(value, str) else value
        if isinstance(key, bool) or not isinstance(key, str | int) or key not in table:
            raise ValueError(message)
        return table[key]

    return parse


def _wire_type(enum: type[Enum]) -> Any:
    """What the OpenAPI shows as accepted: the enum, or for integer enums also their names."""
    if issubclass(enum, IntEnum):
        names = tuple(member.name for member in enum)
        return enum | Literal.__getitem__(names)
    return enum


def _named(enum: type[Enum], aliases: Mapping[str, Enum] | None = None) -> BeforeValidator:
    return BeforeValidator(by_name(enum, aliases), json_schema_input_type=_wire_type(enum))


MessageTypeName = Annotated[MessageType, _named(MessageType, {"Carousell": MessageType.Carousel})]
SuggestionTypeName = Annotated[SuggestionType, _named(SuggestionType)]
TrafficTypeName = Annotated[TrafficType, _named(TrafficType)]
CardHeightName = Annotated[CardHeight, _named(CardHeight)]
CardOrientationName = Annotated[CardOrientation, _named(CardOrientation)]
ImageAlignmentName = Annotated[ImageAlignment, _named(ImageAlignment)]
CardWidthName = Annotated[CardWidth, _named(CardWidth, {"Large": CardWidth.Medium})]
WebviewModeName = Annotated[WebviewMode, _named(WebviewMode)]
