from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from rcsgate.kit.schemas import ApiModel

MAX_LOOKUPS = 1000


class CapabilityRead(ApiModel):
    recipient: str = Field(description="The number, E.164 digits", examples=["46700000001"])
    rcs: bool = Field(description="Whether the number can get RCS messages from the agent")
    features: list[str] = Field(
        description="RBM features the device supports", examples=[["RICHCARD_CAROUSEL"]]
    )
    source: Literal["Cache", "Live"] = Field(description="Cached answer, or asked just now")
    checked: datetime = Field(description="When the operator was asked")


class CapabilitiesQuery(ApiModel):
    agent: str = Field(description="The agent, by name or display name", examples=["kundservice"])
    recipients: list[str] = Field(
        min_length=1,
        max_length=MAX_LOOKUPS,
        description=f"Up to {MAX_LOOKUPS:,} numbers",
        examples=[["46700000001", "46700000002"]],
    )
