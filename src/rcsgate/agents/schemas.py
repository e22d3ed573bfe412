from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from rcsgate.kit.schemas import (
    ApiModel,
    Color,
    Email,
    HttpsUrl,
    HttpUrl,
    PhoneNumber,
    Slug,
    Timestamp,
)

UseCase = Literal["OTP", "Transactional", "Promotional", "MultiUse"]
AgentStatus = Literal["Draft", "Submitted", "Launched", "Rejected"]

_ALPHANUMERIC_SENDER = re.compile(r"^[A-Za-z0-9 ._-]{1,11}$")


def _sms_sender(value: str) -> str:
    """An SMS originator: up to 11 letters/digits, or a number of up to 15 digits."""
    digits = value.lstrip("+")
    if digits.isdigit() and 3 <= len(digits) <= 15:
        return digits
    if _ALPHANUMERIC_SENDER.match(value) and not value.isdigit():
        return value
    raise ValueError("must be 1-11 letters and digits, or a number of 3-15 digits")


SmsSender = Annotated[str, AfterValidator(_sms_sender)]


class AgentFields(ApiModel):
    description: str | None = Field(default=None, max_length=100)
    logo_url: HttpsUrl | None = Field(default=None, examples=["https://minbutik.se/logo.png"])
    hero_url: HttpsUrl | None = Field(default=None, examples=["https://minbutik.se/hero.png"])
    color: Color | None = Field(default=None, examples=["#1A73E8"])
    phone: PhoneNumber | None = Field(default=None, examples=["46101606060"])
    website: HttpUrl | None = Field(default=None, examples=["https://minbutik.se"])
    email: Email | None = Field(default=None, examples=["kundservice@minbutik.se"])
    privacy_url: HttpUrl | None = None
    terms_url: HttpUrl | None = None
    sms_sender: SmsSender | None = Field(
        default=None,
        description="The SMS fallback's sender; a send that may fall back to SMS under it is "
        "refused (403) unless it is verified for the account",
        examples=["MinButik"],
    )
    delivery_report_url: HttpUrl | None = Field(
        default=None, description="Webhook URL for this agent's events, unless a request names one"
    )


class AgentCreate(AgentFields):
    display_name: str = Field(min_length=1, max_length=100, examples=["Kundservice"])
    agent_name: Slug | None = Field(
        default=None, examples=["kundservice"], description="Defaults to a slug of displayName"
    )
    use_case: UseCase = "MultiUse"


class AgentUpdate(AgentFields):
    """A merge patch: fields given are set (null clears an optional one), others are kept."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    use_case: UseCase | None = None

    @field_validator("display_name", "use_case")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Runs only for fields the client sent: a default None is not validated.
        if value is None:
            raise ValueError("cannot be null")
        return value


class AgentOperatorRead(ApiModel):
    operator: str = Field(examples=["rbm"])
    status: AgentStatus


class AgentRead(AgentFields):
    agent_name: str = Field(examples=["kundservice"])
    display_name: str = Field(examples=["Kundservice"])
    brand_name: str = Field(examples=["min-butik-ab"])
    use_case: UseCase
    status: AgentStatus = Field(
        description="Draft until a launch is requested; Launched once any operator launched it"
    )
    operators: list[AgentOperatorRead]
    created: Timestamp
    modified: Timestamp
