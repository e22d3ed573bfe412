from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from rcsgate.agents.service import AgentNotLaunched
from rcsgate.conversations import service
from rcsgate.conversations.schemas import (
    ConversationCreate,
    ConversationEventCreate,
    ConversationRead,
    FollowUpCreate,
)
from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import AlreadyExists, NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers
from rcsgate.kit.schemas import PhoneNumber
from rcsgate.messages.schemas import MessageRead
from rcsgate.messages.service import pricing
from rcsgate.senders.service import SenderNotVerified

router = APIRouter(tags=["Conversations"])
Paging = Annotated[PageParams, Depends(page_params)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_schema(NotFound, "No such conversation")}
SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    403: problem_schema(
        SenderNotVerified,
        "Plain HTTP, a key used outside its IP allow-list, or an SMS sender "
        "(fallback.sms.sender, else the agent's smsSender) not verified for the account",
    ),
    404: problem_schema(NotFound, "No such brand, agent or conversation"),
    409: problem_schema(
        AgentNotLaunched,
        "Agent not launched, conversation closed, or uniqueId taken / Idempotency-Key in flight",
    ),
}
PATH = "/conversations/{conversationId}"


async def conversation_filters(
    brand: Annotated[str | None, Query(description="brandName or displayName")] = None,
    agent: Annotated[str | None, Query(description="agentName or displayName")] = None,
    recipient: Annotated[PhoneNumber | None, Query()] = None,
    unique_id: Annotated[str | None, Query(alias="uniqueId")] = None,
    status: Annotated[Literal["Open", "Closed"] | None, Query()] = None,
) -> service.ConversationFilters:
    return service.ConversationFilters(brand, agent, recipient, unique_id, status)


@router.post(
    "/conversations",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    summary="Start a conversation by sending its first message",
    description="Answers with the first **message**; its `conversationId` names the new "
    "conversation. A previous open conversation of the same agent and recipient is closed.",
    responses={**SEND_ERRORS, 409: problem_schema(AlreadyExists)},
)
async def start_conversation(
    body: ConversationCreate,
    response: Response,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> MessageRead:
    message = await service.start_conversation(
        session,
        context.clock,
        pricing(context, principal),
        principal.account_id,
        body,
        platform_sender=context.settings.sms_sender,
    )
    response.headers["Location"] = f"/v3/conversations/{message.conversation_id}"
    return message


@router.get("/conversations", response_model=list[ConversationRead], summary="List conversations")
async def list_conversations(
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    filters: Annotated[service.ConversationFilters, Depends(conversation_filters)],
) -> list[ConversationRead]:
    page, reads = await service.list_conversations(session, principal.account_id, filters, paging)
    set_page_headers(response, request.url, page)
    return reads


@router.get(PATH, response_model=ConversationRead, summary="One conversation", responses=NOT_FOUND)
async def get_conversation(
    conversationId: str, session: Session, principal: CurrentPrincipal
) -> ConversationRead:
    return await service.get_conversation(session, principal.account_id, conversationId)


@router.get(
    PATH + "/messages",
    response_model=list[MessageRead],
    summary="The conversation's messages, both directions, oldest first by default",
    responses=NOT_FOUND,
)
async def conversation_messages(
    conversationId: str,
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
) -> list[MessageRead]:
    page, reads = await service.conversation_messages(
        session, principal.account_id, conversationId, paging
    )
    set_page_headers(response, request.url, page)
    return reads


@router.post(
    PATH + "/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    summary="Send a follow-up message in an open conversation",
    responses=SEND_ERRORS,
)
async def follow_up(
    conversationId: str,
    body: FollowUpCreate,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> MessageRead:
    return await service.follow_up(
        session,
        context.clock,
        pricing(context, principal),
        principal.account_id,
        conversationId,
        body,
        platform_sender=context.settings.sms_sender,
    )


@router.post(
    PATH + "/events",
    response_model=ConversationRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a typing indicator or a read receipt to the user",
    responses={**NOT_FOUND, 409: problem_schema(service.ConversationClosed)},
)
async def send_event(
    conversationId: str,
    body: ConversationEventCreate,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> ConversationRead:
    return await service.send_event(
        session, context.clock, principal.account_id, conversationId, body
    )


@router.post(
    PATH + "/close", response_model=ConversationRead, summary="Close it", responses=NOT_FOUND
)
async def close_conversation(
    conversationId: str, session: Session, context: Context, principal: CurrentPrincipal
) -> ConversationRead:
    return await service.close_conversation(
        session, context.clock, principal.account_id, conversationId
    )
