from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers
from rcsgate.kit.schemas import PhoneNumber
from rcsgate.messages import service
from rcsgate.messages.schemas import (
    CardRead,
    Channel,
    Direction,
    MessageRead,
    MessageStatus,
    SuggestionRead,
)

router = APIRouter(tags=["Messages"])
Paging = Annotated[PageParams, Depends(page_params)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_schema(NotFound, "No such message")}
MESSAGE_PATH = "/messages/{messageId}"


async def message_filters(
    status: Annotated[MessageStatus | None, Query(description="Only this status")] = None,
    recipient: Annotated[PhoneNumber | None, Query(description="Only this number")] = None,
    direction: Annotated[Direction | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="Created at or after (ISO 8601)")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Created before (ISO 8601)")
    ] = None,
) -> service.MessageFilters:
    return service.MessageFilters(status, recipient, direction, channel, since, until)


@router.get("/messages", response_model=list[MessageRead], summary="List messages")
async def list_messages(
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    filters: Annotated[service.MessageFilters, Depends(message_filters)],
    context: Context,
) -> list[MessageRead]:
    page, reads = await service.list_messages(
        session, principal.account_id, filters, paging, context.settled_pages
    )
    set_page_headers(response, request.url, page)
    return reads


@router.get(
    MESSAGE_PATH,
    response_model=MessageRead,
    summary="One message, with its whole journey",
    responses=NOT_FOUND,
)
async def get_message(messageId: str, session: Session, principal: CurrentPrincipal) -> MessageRead:
    return await service.get_message(session, principal.account_id, messageId)


@router.get(
    MESSAGE_PATH + "/cards",
    response_model=list[CardRead],
    summary="The message's cards (one for a rich card, 2-10 for a carousel)",
    responses=NOT_FOUND,
)
async def get_cards(
    messageId: str, session: Session, principal: CurrentPrincipal
) -> list[CardRead]:
    return await service.message_cards(session, principal.account_id, messageId)


@router.get(
    MESSAGE_PATH + "/suggestions",
    response_model=list[SuggestionRead],
    summary="The message's message-level suggestions",
    responses=NOT_FOUND,
)
async def get_suggestions(
    messageId: str, session: Session, principal: CurrentPrincipal
) -> list[SuggestionRead]:
    return await service.message_suggestions(session, principal.account_id, messageId)


@router.delete(
    MESSAGE_PATH,
    response_model=MessageRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Revoke a message",
    description="Queues a revoke at the operator. The message ends `Revoked`, or "
    "`RevokeFailed` when the operator had already delivered it.",
    responses={**NOT_FOUND, 409: problem_schema(service.MessageNotRevocable)},
)
async def revoke_message(
    messageId: str, session: Session, context: Context, principal: CurrentPrincipal
) -> MessageRead:
    return await service.revoke_message(session, context.clock, principal.account_id, messageId)
