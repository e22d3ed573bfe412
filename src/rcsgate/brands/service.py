"""Brands: a company identity, named in requests by brandName or displayName."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.agents.cache import forget_senders
from rcsgate.brands.repository import BrandRepository
from rcsgate.brands.schemas import BrandCreate, BrandUpdate
from rcsgate.errors import AlreadyExists, Conflict, NotFound
from rcsgate.kit.clock import Clock
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.kit.schemas import slugify
from rcsgate.models import Brand


class BrandHasAgents(Conflict):
    slug, title = "brand-has-agents", "The brand still has agents"


async def create_brand(
    session: AsyncSession, clock: Clock, account_id: str, data: BrandCreate
) -> Brand:
    brand_name = data.brand_name or slugify(data.display_name)
    repository = BrandRepository(session)
    if await repository.name_taken(account_id, brand_name.casefold()):
        raise AlreadyExists(f"A brand named {brand_name!r} exists")
    brand = Brand(
        account_id=account_id,
        brand_name=brand_name,
        name_key=brand_name.casefold(),
        display_name=data.display_name,
        display_key=data.display_name.casefold(),
        website=data.website,
        logo_url=data.logo_url,
        created_at=clock.now(),
    )
    repository.add(brand)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the unique index
        raise AlreadyExists(f"A brand named {brand_name!r} exists") from exc
    forget_senders(session, account_id)
    return brand


async def list_brands(session: AsyncSession, account_id: str, params: PageParams) -> Page[Brand]:
    return await paginate(session, BrandRepository(session).live(account_id), params, Brand.id)


async def get_brand(session: AsyncSession, account_id: str, name: str) -> Brand:
    brand = await BrandRepository(session).find(account_id, name)
    if brand is None:
        raise NotFound(f"No brand {name!r}")
    return brand


async def update_brand(
    session: AsyncSession, account_id: str, name: str, data: BrandUpdate
) -> Brand:
    brand = await get_brand(session, account_id, name)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(brand, field, value)
    brand.display_key = brand.display_name.casefold()
    await session.flush()
    forget_senders(session, account_id)
    return brand


async def delete_brand(session: AsyncSession, clock: Clock, account_id: str, name: str) -> Brand:
    """Soft delete: the row stays for history; the name becomes free again."""
    brand = await get_brand(session, account_id, name)
    if await BrandRepository(session).live_agent_count(brand.id):
        raise BrandHasAgents(f"Delete the agents of {brand.brand_name!r} first")
    brand.deleted_at = clock.now()
    await session.flush()
    forget_senders(session, account_id)
    return brand
