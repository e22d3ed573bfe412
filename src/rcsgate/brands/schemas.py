from __future__ import annotations

from pydantic import Field

from rcsgate.kit.schemas import ApiModel, HttpsUrl, HttpUrl, Slug, Timestamp


class BrandCreate(ApiModel):
    display_name: str = Field(
        min_length=1, max_length=100, examples=["Min Butik AB"], description="The company name"
    )
    brand_name: Slug | None = Field(
        default=None,
        examples=["min-butik-ab"],
        description="The name requests use; defaults to a slug of displayName",
    )
    website: HttpUrl | None = Field(default=None, examples=["https://minbutik.se"])
    logo_url: HttpsUrl | None = Field(default=None, examples=["https://minbutik.se/logo.png"])


class BrandUpdate(ApiModel):
    """A brand's editable fields (the portal's edit form); its name stays."""

    display_name: str = Field(min_length=1, max_length=100)
    website: HttpUrl | None = None
    logo_url: HttpsUrl | None = None


class BrandRead(ApiModel):
    brand_name: str = Field(examples=["min-butik-ab"])
    display_name: str = Field(examples=["Min Butik AB"])
    website: str | None = None
    logo_url: str | None = None
    created: Timestamp = Field(validation_alias="created_at")
