"""Pydantic building blocks shared by every resource's schemas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from rcsgate.kit.clock import isoformat_z
from rcsgate.kit.phone import normalize_number


class ApiModel(BaseModel):
    """camelCase on the wire; unknown fields are ignored (API.md 1)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", from_attributes=True
    )


Timestamp = Annotated[datetime, PlainSerializer(isoformat_z, return_type=str, when_used="json")]


def _url(value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"must be an absolute {' or '.join(schemes)} URL")
    return value


def _https_url(value: str) -> str:
    return _url(value, ("https",))


def _http_url(value: str) -> str:
    return _url(value, ("https", "http"))


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$")


def _check(pattern: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


Color = Annotated[str, _check(_COLOR, "must be a colour as #RRGGBB")]
Email = Annotated[str, _check(_EMAIL, "must be an e-mail address")]
Slug = Annotated[
    str,
    _check(_SLUG, "1-64 letters, digits, '-' or '_', starting and ending with a letter or digit"),
]
PhoneNumber = Annotated[str, AfterValidator(normalize_number)]


def slugify(text: str) -> str:
    """`Min Butik AB` → `min-butik-ab`; Swedish letters fold to their base letter."""
    folded = text.lower().translate(str.maketrans("åäöéüæø", "aaoeuao"))
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug[:64].strip("-") or "brand"
