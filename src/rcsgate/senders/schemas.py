from __future__ import annotations

from pydantic import Field

from rcsgate.kit.schemas import ApiModel, Timestamp


class SenderRead(ApiModel):
    id: str
    account_id: str
    sender: str = Field(description="Letters and digits, or a number without its leading +")
    created: Timestamp = Field(validation_alias="created_at")
    verified: Timestamp | None = Field(validation_alias="verified_at")
    verified_by: str | None
