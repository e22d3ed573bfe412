from __future__ import annotations

from fastapi import APIRouter

from rcsgate.accounts import service
from rcsgate.accounts.schemas import AccountRead
from rcsgate.dependencies import CurrentPrincipal, Session

router = APIRouter(tags=["Account"])


@router.get("/account", response_model=AccountRead, summary="The caller's account")
async def get_account(session: Session, principal: CurrentPrincipal) -> AccountRead:
    return AccountRead.model_validate(await service.account_summary(session, principal.account_id))
