from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from rcsgate.dependencies import Context, CurrentPrincipal, Session
from rcsgate.errors import NotFound, problem_schema
from rcsgate.kit.pagination import PageParams, page_params, set_page_headers
from rcsgate.webhooks import service
from rcsgate.webhooks.schemas import (
    DeliveryStatus,
    EventType,
    RedeliveredRead,
    RedeliverSince,
    WebhookDeliveryRead,
)

router = APIRouter(tags=["Webhooks"])
Paging = Annotated[PageParams, Depends(page_params)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_schema(NotFound, "No such webhook delivery")
}
PATH = "/webhook-deliveries/{deliveryId}"


async def delivery_filters(
    status: Annotated[DeliveryStatus | None, Query(description="Only this status")] = None,
    type: Annotated[EventType | None, Query(description="Only this event type")] = None,
    message_id: Annotated[
        str | None, Query(alias="messageId", max_length=24, description="Only this message's")
    ] = None,
) -> service.DeliveryFilters:
    return service.DeliveryFilters(status, type, message_id)


@router.get(
    "/webhook-deliveries",
    response_model=list[WebhookDeliveryRead],
    summary="List webhook deliveries",
)
async def list_webhook_deliveries(
    request: Request,
    response: Response,
    session: Session,
    principal: CurrentPrincipal,
    paging: Paging,
    filters: Annotated[service.DeliveryFilters, Depends(delivery_filters)],
) -> list[WebhookDeliveryRead]:
    page, reads = await service.list_deliveries(session, principal.account_id, filters, paging)
    set_page_headers(response, request.url, page)
    return reads


@router.get(
    PATH,
    response_model=WebhookDeliveryRead,
    summary="One webhook delivery, with its attempts",
    responses=NOT_FOUND,
)
async def get_webhook_delivery(
    deliveryId: str,
    session: Session,
    principal: CurrentPrincipal,
) -> WebhookDeliveryRead:
    return await service.get_delivery(session, principal.account_id, deliveryId)


@router.post(
    PATH + "/redeliver",
    response_model=WebhookDeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send one delivery again",
    description="Queues the delivery again with the same id (`webhook-id`), whatever its "
    "status, and lets its endpoint be tried at once.",
    responses=NOT_FOUND,
)
async def redeliver_webhook_delivery(
    deliveryId: str,
    session: Session,
    context: Context,
    principal: CurrentPrincipal,
) -> WebhookDeliveryRead:
    return await service.redeliver(session, context.clock, principal.account_id, deliveryId)


@router.post(
    "/webhook-deliveries/redeliver",
    response_model=RedeliveredRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replay every delivery since a time",
    description="Queues again every delivery of the account created at or after `since` "
    "(only those in `status`, when given), each with its own id, in their original order.",
)
async def replay_webhook_deliveries(
    body: RedeliverSince, session: Session, context: Context, principal: CurrentPrincipal
) -> RedeliveredRead:
    count = await service.replay(session, context.clock, principal.account_id, body)
    return RedeliveredRead(redelivered=count)
