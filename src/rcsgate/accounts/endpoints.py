from __future__ import annotations

from fastapi import APIRouter

from rcsgate.accounts import service
from rcsgate.accounts.schemas import AccountRead
from rcsgate.dependencies import Context, CurrentPrincipal

router = APIRouter(tags=["Account"])


@router.get("/account", response_model=AccountRead, summary="The caller's account")
async def get_account(context: Context, principal: CurrentPrincipal) -> AccountRead:
    summary = await service.account_summary(
        context.sessionmaker, context.accounts, principal.account_id
    )
    return AccountRead.model_validate(summary)
