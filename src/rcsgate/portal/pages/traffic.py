"""Traffic: conversations with their thread, bundles with live progress, message search with
each message's journey. Read-only, through the services /v3 uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import get_args

from fastapi import APIRouter, Request
from starlette.responses import Response

from rcsgate.bundles.service import get_bundle, list_bundles
from rcsgate.conversations.schemas import ConversationRead
from rcsgate.conversations.service import (
    ConversationFilters,
    conversation_messages,
    get_conversation,
    list_conversations,
)
from rcsgate.dependencies import Session, context_of
from rcsgate.kit.pagination import MAX_LIMIT, Order, PageParams
from rcsgate.kit.phone import normalize_number
from rcsgate.messages.schemas import FINAL_STATUSES, MessageRead, MessageStatus
from rcsgate.messages.service import MessageFilters, get_message, list_messages
from rcsgate.portal.web import Viewer, render

router = APIRouter()
PAGE = 100
NEWEST_FIRST = PageParams(limit=PAGE, order=Order.DESC)
STATUSES: list[str] = list(get_args(MessageStatus))
# htmx stops polling when a response has this status (a finished bundle).
STOP_POLLING = 286
# A bundle is finished when every message is in a status that can change only to Read, if at
# all: a delivered SMS gets no read receipt, so waiting for Read would poll for ever. (A read
# receipt arriving later shows on the next visit.)
SETTLED_STATUSES = FINAL_STATUSES | {"Delivered"}


@router.get("/conversations")
async def conversations_page(
    request: Request, session: Session, viewer: Viewer, number: str = ""
) -> Response:
    errors: dict[str, str] = {}
    recipient = _number(number, errors)
    reads: list[ConversationRead] = []
    if not errors:
        filters = ConversationFilters(recipient=recipient)
        _page, reads = await list_conversations(session, viewer.account_id, filters, NEWEST_FIRST)
    page = {"conversations": reads, "values": {"number": number}, "errors": errors}
    return render(request, "conversations.html", page, viewer=viewer, status=_status(errors))


@router.get("/conversations/{conversation_id}")
async def conversation_page(
    request: Request, session: Session, viewer: Viewer, conversation_id: str
) -> Response:
    conversation = await get_conversation(session, viewer.account_id, conversation_id)
    params = PageParams(limit=MAX_LIMIT)
    _page, thread = await conversation_messages(session, viewer.account_id, conversation_id, params)
    page = {"conversation": conversation, "thread": thread}
    return render(request, "conversation.html", page, viewer=viewer)


@router.get("/bundles")
async def bundles_page(request: Request, session: Session, viewer: Viewer) -> Response:
    _page, reads = await list_bundles(session, viewer.account_id, [], NEWEST_FIRST)
    return render(request, "bundles.html", {"bundles": reads}, viewer=viewer)


@router.get("/bundles/{bundle_id}")
async def bundle_page(
    request: Request, session: Session, viewer: Viewer, bundle_id: str
) -> Response:
    bundle = await get_bundle(session, viewer.account_id, bundle_id)
    page = {"bundle": bundle, "finished": _finished(bundle.status_counts, bundle.recipient_count)}
    return render(request, "bundle.html", page, viewer=viewer)


@router.get("/bundles/{bundle_id}/progress")
async def bundle_progress(
    request: Request, session: Session, viewer: Viewer, bundle_id: str
) -> Response:
    """The status counts alone, for htmx to swap in every 2 s until the bundle is finished."""
    bundle = await get_bundle(session, viewer.account_id, bundle_id)
    finished = _finished(bundle.status_counts, bundle.recipient_count)
    page = {"bundle": bundle, "finished": finished}
    status = STOP_POLLING if finished and "hx-request" in request.headers else 200
    return render(request, "_progress.html", page, viewer=viewer, status=status)


def _finished(counts: dict[str, int], recipients: int) -> bool:
    return sum(n for status, n in counts.items() if status in SETTLED_STATUSES) >= recipients


@router.get("/messages")
async def messages_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    number: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    values = {"number": number, "status": status, "since": since, "until": until}
    errors: dict[str, str] = {}
    filters = MessageFilters(
        status=_status_filter(status, errors),
        recipient=_number(number, errors),
        since=_day(since, "since", errors),
        until=_day(until, "until", errors, end=True),
    )
    reads: list[MessageRead] = []
    if not errors:
        settled = context_of(request).settled_pages
        _page, reads = await list_messages(
            session, viewer.account_id, filters, NEWEST_FIRST, settled
        )
    page = {"messages": reads, "values": values, "errors": errors, "statuses": STATUSES}
    return render(request, "messages.html", page, viewer=viewer, status=_status(errors))


@router.get("/messages/{message_id}")
async def message_page(
    request: Request, session: Session, viewer: Viewer, message_id: str
) -> Response:
    message = await get_message(session, viewer.account_id, message_id)
    return render(request, "message.html", {"message": message}, viewer=viewer)


def _status(errors: dict[str, str]) -> int:
    return 400 if errors else 200


def _number(value: str, errors: dict[str, str]) -> str | None:
    if not value.strip():
        return None
    try:
        return normalize_number(value)
    except ValueError as exc:
        errors["number"] = str(exc)
        return None


def _status_filter(value: str, errors: dict[str, str]) -> str | None:
    if not value:
        return None
    if value not in STATUSES:
        errors["status"] = "is not a message status"
        return None
    return value


def _day(value: str, name: str, errors: dict[str, str], *, end: bool = False) -> datetime | None:
    """A date input's day as UTC midnight; the `until` day is included (its next midnight)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = "must be a date, YYYY-MM-DD"
        return None
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start + timedelta(days=1) if end else start
