from __future__ import annotations

from pydantic import Field

from rcsgate.kit.schemas import ApiModel, Timestamp


class KeyRead(ApiModel):
    id: str
    account_id: str
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it by")
    allowed_ips: list[str] = Field(description="Addresses and CIDR ranges; empty means any")
    created: Timestamp = Field(validation_alias="created_at")
    last_used: Timestamp | None = Field(validation_alias="last_used_at")
    revoked: Timestamp | None = Field(validation_alias="revoked_at")


class KeyCreated(KeyRead):
    token: str = Field(description="The secret; shown this once and never again")
