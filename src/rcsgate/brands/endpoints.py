from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from rcsgate.brands import service
from rcsgate.brands.schemas import BrandCreate, BrandRead
from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import AlreadyExists, NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers

router = APIRouter(tags=["Brands"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/brands", response_model=list[BrandRead], summary="List brands")
async def list_brands(
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
) -> list[BrandRead]:
    page = await service.list_brands(session, principal.account_id, paging)
    set_page_headers(response, request.url, page)
    return [BrandRead.model_validate(brand) for brand in page.items]


@router.post(
    "/brands",
    response_model=BrandRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a brand",
    responses={409: problem_schema(AlreadyExists, "A brand with that brandName exists")},
)
async def create_brand(
    body: BrandCreate,
    response: Response,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> BrandRead:
    brand = await service.create_brand(session, context.clock, principal.account_id, body)
    response.headers["Location"] = f"/v3/brands/{brand.brand_name}"
    return BrandRead.model_validate(brand)


@router.get(
    "/brands/{brandName}",
    response_model=BrandRead,
    summary="One brand, by brandName or displayName",
    responses={404: problem_schema(NotFound, "No such brand")},
)
async def get_brand(brandName: str, session: Session, principal: CurrentPrincipal) -> BrandRead:
    brand = await service.get_brand(session, principal.account_id, brandName)
    return BrandRead.model_validate(brand)


@router.delete(
    "/brands/{brandName}",
    response_model=BrandRead,
    summary="Delete a brand (it must have no agents)",
    responses={
        404: problem_schema(NotFound, "No such brand"),
        409: problem_schema(service.BrandHasAgents),
    },
)
async def delete_brand(
    brandName: str,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> BrandRead:
    brand = await service.delete_brand(session, context.clock, principal.account_id, brandName)
    return BrandRead.model_validate(brand)
