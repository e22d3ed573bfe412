from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from rcsgate.agents.service import AgentNotLaunched
from rcsgate.bundles import service
from rcsgate.bundles.schemas import BundleCreate, BundleRead
from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers
from rcsgate.messages.schemas import MessageRead, MessageStatus
from rcsgate.messages.service import pricing
from rcsgate.senders.service import SenderNotVerified

router = APIRouter(tags=["Bundles"])
Paging = Annotated[PageParams, Depends(page_params)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_schema(NotFound, "No such bundle")}
PATH = "/bundles/{bundleId}"


@router.post(
    "/bundles",
    response_model=BundleRead,
    status_code=status.HTTP_201_CREATED,
    summary="Send one message to many recipients",
    description="The `201` comes only after every recipient's message is durably stored.",
    responses={
        403: problem_schema(
            SenderNotVerified,
            "Plain HTTP, a key used outside its IP allow-list, or an SMS sender "
            "(fallback.sms.sender, else the agent's smsSender) not verified for the account",
        ),
        404: problem_schema(NotFound, "No such brand or agent"),
        409: problem_schema(AgentNotLaunched, "Agent not launched, or uniqueId taken"),
    },
)
async def create_bundle(
    body: BundleCreate,
    response: Response,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> BundleRead:
    bundle = await service.create_bundle(
        session,
        context.clock,
        pricing(context, principal),
        principal.account_id,
        body,
        platform_sender=context.settings.sms_sender,
    )
    response.headers["Location"] = f"/v3/bundles/{bundle.id}"
    return bundle


@router.get("/bundles", response_model=list[BundleRead], summary="List bundles")
async def list_bundles(
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    tag: Annotated[
        list[str], Query(description="Only bundles carrying this tag; repeat: all must match")
    ] = [],  # noqa: B006 - FastAPI copies the default
) -> list[BundleRead]:
    page, reads = await service.list_bundles(session, principal.account_id, tag, paging)
    set_page_headers(response, request.url, page)
    return reads


@router.get(PATH, response_model=BundleRead, summary="One bundle", responses=NOT_FOUND)
async def get_bundle(bundleId: str, session: Session, principal: CurrentPrincipal) -> BundleRead:
    return await service.get_bundle(session, principal.account_id, bundleId)


@router.delete(
    PATH,
    response_model=BundleRead,
    summary="Cancel: messages not yet handed to an operator become Cancelled",
    responses=NOT_FOUND,
)
async def cancel_bundle(
    bundleId: str, session: Session, context: Context, principal: CurrentPrincipal
) -> BundleRead:
    return await service.cancel_bundle(session, context.clock, principal.account_id, bundleId)


async def _bundle_messages(
    bundleId: str,
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    status: Annotated[MessageStatus | None, Query(description="Only this status")] = None,
) -> list[MessageRead]:
    page, reads = await service.bundle_messages(
        session, principal.account_id, bundleId, status, paging
    )
    set_page_headers(response, request.url, page)
    return reads


router.get(
    PATH + "/messages",
    response_model=list[MessageRead],
    summary="The bundle's per-recipient messages",
    responses=NOT_FOUND,
)(_bundle_messages)
# The iP.1 docs document this listing as POST; a POST with an empty body answers the same.
router.post(
    PATH + "/messages",
    response_model=list[MessageRead],
    summary="The bundle's per-recipient messages (as GET; iP.1 compatibility)",
    responses=NOT_FOUND,
    operation_id="list_bundle_messages_post",
)(_bundle_messages)


@router.get(
    PATH + "/messages/{messageId}",
    response_model=MessageRead,
    summary="One message of the bundle, with its journey",
    responses=NOT_FOUND,
)
async def bundle_message(
    bundleId: str, messageId: str, session: Session, principal: CurrentPrincipal
) -> MessageRead:
    return await service.bundle_message(session, principal.account_id, bundleId, messageId)
