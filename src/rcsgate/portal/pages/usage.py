"""Usage: messages and cost per day and channel as charts, the rate limit and the balance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.accounts.service import get_account
from rcsgate.dependencies import Session, context_of
from rcsgate.messages.usage import CHANNELS, daily_usage
from rcsgate.portal.charts import stacked_bars
from rcsgate.portal.web import Viewer, render

router = APIRouter()
DAYS = 30


@router.get("/usage")
async def usage_page(request: Request, session: Session, viewer: Viewer) -> Response:
    account = await get_account(session, viewer.account_id)
    usage = await daily_usage(session, context_of(request).clock, viewer.account_id, DAYS)
    days = [day.day.strftime("%m-%d") for day in usage.days]
    page = {
        "account": account,
        "usage": usage,
        "channels": CHANNELS,
        "messages_chart": stacked_bars(days, [d.messages for d in usage.days], CHANNELS),
        "cost_chart": stacked_bars(days, [d.cost for d in usage.days], CHANNELS),
    }
    return render(request, "usage.html", page, viewer=viewer)
