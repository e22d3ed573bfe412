"""Webhooks: the account's deliveryReportUrl, its signing secret (reveal, rotate), and the
delivery log with each delivery's attempts, redeliver and replay — through webhooks.service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.accounts.service import get_account
from rcsgate.dependencies import Session, context_of
from rcsgate.errors import ValidationFailed
from rcsgate.kit.pagination import Order, PageParams
from rcsgate.portal.errors import form_errors
from rcsgate.portal.web import Form, Viewer, field, redirect, render
from rcsgate.webhooks.schemas import DeliveryStatus, EventType, RedeliverSince
from rcsgate.webhooks.service import (
    DeliveryFilters,
    get_delivery,
    list_deliveries,
    redeliver,
    replay,
    rotate_secret,
    secrets_view,
    set_account_url,
    signing_secrets,
)

router = APIRouter()
NEWEST_FIRST = PageParams(limit=100, order=Order.DESC)
STATUSES: list[str] = list(get_args(DeliveryStatus))
TYPES: list[str] = list(get_args(EventType))
MAX_OVERLAP_HOURS = 7 * 24


@router.get("/webhooks")
async def webhooks_page(
    request: Request, session: Session, viewer: Viewer, status: str = "", type: str = ""
) -> Response:
    return await _page(request, session, viewer, filters={"status": status, "type": type})


async def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    filters: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    secrets: dict[str, object] | None = None,
    notice: str | None = None,
    count: int | None = None,
) -> Response:
    account = await get_account(session, viewer.account_id)
    chosen = filters or {}
    wanted = DeliveryFilters(
        status=chosen.get("status") if chosen.get("status") in STATUSES else None,
        type=chosen.get("type") if chosen.get("type") in TYPES else None,
    )
    _found, deliveries = await list_deliveries(session, viewer.account_id, wanted, NEWEST_FIRST)
    page = {
        "account": account,
        "deliveries": deliveries,
        "filters": chosen,
        "values": {"url": account.delivery_report_url or "", "overlap": "24", **(values or {})},
        "errors": errors or {},
        "secrets": secrets,
        "notice": notice,
        "count": count,
        "statuses": STATUSES,
        "types": TYPES,
    }
    return render(request, "webhooks.html", page, viewer=viewer, status=400 if errors else 200)


@router.post("/webhooks/url")
async def save_url(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    url = field(form, "url").strip()
    try:
        await set_account_url(session, viewer.account_id, url or None)
    except ValidationFailed as error:
        errors = form_errors(error, {"/deliveryReportUrl": "url"})
        return await _page(request, session, viewer, values={"url": url}, errors=errors)
    return await _page(request, session, viewer, notice="saved")


@router.post("/webhooks/secret/reveal")
async def reveal_secret(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    """A POST, so the secret is never in a URL and only shown on purpose."""
    now = context_of(request).clock.now()
    shown = secrets_view(await signing_secrets(session, viewer.account_id), now)
    return await _page(request, session, viewer, secrets=shown)


@router.post("/webhooks/secret/rotate")
async def rotate(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    clock = context_of(request).clock
    text = field(form, "overlap").strip()
    if not text.isdigit() or int(text) > MAX_OVERLAP_HOURS:
        errors = {"overlap": f"must be a whole number of hours, 0 to {MAX_OVERLAP_HOURS}"}
        return await _page(request, session, viewer, values={"overlap": text}, errors=errors)
    found = await rotate_secret(session, clock, viewer.account_id, timedelta(hours=int(text)))
    shown = secrets_view(found, clock.now())
    return await _page(request, session, viewer, secrets=shown, notice="rotated")


@router.post("/webhooks/replay")
async def replay_since(request: Request, session: Session, viewer: Viewer, form: Form) -> Response:
    values = {"since": field(form, "since"), "replay_status": field(form, "replay_status")}
    try:
        since = datetime.fromisoformat(values["since"]).replace(tzinfo=UTC)
    except ValueError:
        errors = {"since": "must be a date and time, YYYY-MM-DDTHH:MM (UTC)"}
        return await _page(request, session, viewer, values=values, errors=errors)
    status: Any = values["replay_status"] if values["replay_status"] in STATUSES else None
    data = RedeliverSince(since=since, status=status)
    count = await replay(session, context_of(request).clock, viewer.account_id, data)
    return await _page(request, session, viewer, values=values, notice="replayed", count=count)


@router.get("/webhooks/deliveries/{delivery_id}")
async def delivery_page(
    request: Request, session: Session, viewer: Viewer, delivery_id: str
) -> Response:
    delivery = await get_delivery(session, viewer.account_id, delivery_id)
    body = json.dumps(delivery.event, indent=2, ensure_ascii=False)
    page = {"delivery": delivery, "body": body}
    return render(request, "delivery.html", page, viewer=viewer)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver_one(
    request: Request, session: Session, viewer: Viewer, form: Form, delivery_id: str
) -> Response:
    await redeliver(session, context_of(request).clock, viewer.account_id, delivery_id)
    return redirect(f"/webhooks/deliveries/{delivery_id}")
