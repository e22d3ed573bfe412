from __future__ import annotations

from pydantic import Field

from rcsgate.kit.schemas import ApiModel, Timestamp


class AccountRead(ApiModel):
    id: str = Field(examples=["65eb3d14f784682890abc24f"])
    name: str = Field(examples=["Min Butik AB"])
    currency: str = Field(examples=["SEK"], description="ISO 4217 code of the account currency")
    balance: float = Field(examples=[1250.5], description="Prepaid balance in the account currency")
    rate_limit: int = Field(examples=[30], description="Requests per second, all keys together")
    created: Timestamp = Field(validation_alias="created_at")
