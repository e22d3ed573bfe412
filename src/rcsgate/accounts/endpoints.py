from __future__ import annotations

from fastapi import APIRouter

from rcsgate.accounts import service
from rcsgate.accounts.schemas import AccountRead
from rcsgate.dependencies import CurrentPrincipal, Session

router = APIRouter(tags=["Account"])


@router.get("/account", response_model=AccountRead, summary="The caller's account")
async def get_account(session: Session, principal: CurrentPrincipal) -> AccountRead:
    account = await service.get_account(session, principal.account_id)
    return AccountRead.model_validate(account)
