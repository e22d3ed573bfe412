"""Bundles: one content, many recipients, every message stored before the 201.

The messages are inserted in batches as plain rows (no ORM object each) and carry only their
recipient's variables; the bundle holds the content once. One `send_bundle` job covers them
all: the pipeline works through the bundle's queued messages in batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.agents.cache import Sender
from rcsgate.bundles.committer import GROUPED_RECIPIENTS, BundleCommitter, NewBundle, write_bundles
from rcsgate.bundles.repository import BundleRepository
from rcsgate.bundles.schemas import BundleCreate, BundleRead
from rcsgate.content import MessageContent, card_view, check_placeholders, suggestion_view
from rcsgate.dispatch.jobs import job_row
from rcsgate.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from rcsgate.kit.clock import Clock
from rcsgate.kit.ids import new_id
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.kit.recipients import Variables, many_recipients
from rcsgate.messages import service as messages
from rcsgate.messages.repository import MessageRepository
from rcsgate.messages.schemas import MessageRead
from rcsgate.models import Bundle, Message
from rcsgate.webhooks import emit as webhooks

MAX_SCHEDULE_AHEAD = timedelta(days=180)


async def create_bundle(
    session: AsyncSession,
    clock: Clock,
    pricing: messages.Pricing,
    account_id: str,
    data: BundleCreate,
    committer: BundleCommitter | None = None,
    *,
    platform_sender: str,
) -> BundleRead:
    """The bundle, its messages and its send job. With a `committer`, a small bundle's rows
    join the process's group commit and this returns once they are committed; otherwise they
    are written in `session`, whose owner commits (see bundles/committer.py)."""
    recipients = _recipients(data)
    now = clock.now()
    send_at = _send_at(data.send_at, now)
    sender = await messages.resolve_sender(session, account_id, data.brand, data.agent)
    check_placeholders(data, recipients)
    await messages.check_sms_sender(session, account_id, data, sender, platform_sender)
    if data.unique_id and await BundleRepository(session).by_unique_id(account_id, data.unique_id):
        raise _unique_id_taken(data.unique_id)
    stored = messages.stored_content(data, sender)
    bundle = _bundle_row(account_id, sender, stored, data, pricing, len(recipients), now, send_at)
    outbound = messages.Outbound(
        account_id=account_id,
        sender=sender,
        message_type=bundle["type"],
        pricing=pricing,
        reference=data.reference,
        delivery_report_url=data.delivery_report_url,
        send_at=send_at,
        now=now,
    )
    rows = _rows(outbound, bundle["id"], recipients, messages.expiry(stored, send_at or now))
    grouped = committer is not None and len(recipients) <= GROUPED_RECIPIENTS
    new = NewBundle(
        bundle=bundle,
        tags=[
            {"bundle_id": bundle["id"], "tag": tag, "account_id": account_id}
            for tag in _distinct(data.tags)
        ],
        messages=list(rows) if grouped else rows,
        job=job_row(clock, "send_bundle", {"bundleId": bundle["id"]}, run_at=send_at),
    )
    try:
        if committer is not None and grouped:
            if session.in_transaction():  # hand back the connection a read holds meanwhile
                await session.rollback()
            await committer.commit(new)
        else:
            await write_bundles(session, [new])
    except IntegrityError as exc:
        if data.unique_id is None:
            raise
        raise _unique_id_taken(data.unique_id) from exc
    counts = {"Scheduled" if send_at else "Queued": len(recipients)}
    return bundle_read(Bundle(**bundle), messages_names(sender), counts)


def _unique_id_taken(unique_id: str) -> AlreadyExists:
    return AlreadyExists(f"A bundle with uniqueId {unique_id!r} exists")


def _bundle_row(
    account_id: str,
    sender: Sender,
    stored: dict[str, Any],
    data: BundleCreate,
    pricing: messages.Pricing,
    recipient_count: int,
    now: datetime,
    send_at: datetime | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "account_id": account_id,
        "brand_id": sender.brand_id,
        "agent_id": sender.agent_id,
        "type": str(stored["type"]),
        "content": stored,
        "reference": data.reference,
        "tags": list(data.tags),
        "unique_id": data.unique_id,
        "delivery_report_url": data.delivery_report_url,
        "recipient_count": recipient_count,
        "price": pricing.price * recipient_count,
        "currency": pricing.currency,
        "created_at": now,
        "send_at": send_at,
        "cancelled_at": None,
    }


def _recipients(data: BundleCreate) -> dict[str, Variables]:
    numbers, problems = many_recipients(data.recipients)
    if problems:
        errors = [FieldError(pointer, message) for pointer, message in problems]
        raise ValidationFailed(
            "; ".join(f"{e.field}: {e.message}" for e in errors[:3]), errors=errors
        )
    return numbers


def _send_at(send_at: datetime | None, now: datetime) -> datetime | None:
    if send_at is None or send_at <= now:
        return None
    if send_at.tzinfo is None:
        raise ValidationFailed.field("/sendAt", "must carry a time zone, e.g. Z")
    if send_at - now > MAX_SCHEDULE_AHEAD:
        raise ValidationFailed.field("/sendAt", "may be at most 180 days ahead")
    return send_at


def _distinct(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _rows(
    outbound: messages.Outbound,
    bundle_id: str,
    recipients: dict[str, Variables],
    expires_at: datetime | None,
) -> Iterator[dict[str, Any]]:
    for number, variables in recipients.items():
        yield outbound.row(
            number,
            content=None,
            variables=variables or None,
            expires_at=expires_at,
            bundle_id=bundle_id,
        )


@dataclass(frozen=True, slots=True)
class Names:
    brand: str
    agent: str


def messages_names(sender: Sender) -> Names:
    return Names(sender.brand_name, sender.agent_name)


def bundle_read(bundle: Bundle, names: Names, counts: dict[str, int]) -> BundleRead:
    model = MessageContent.model_validate(bundle.content)
    return BundleRead(
        id=bundle.id,
        brand=names.brand,
        agent=names.agent,
        type=bundle.type,
        content=model.content,
        card=card_view(model.card) if model.card else None,
        cards=[card_view(card) for card in model.cards] if model.cards else None,
        width=bundle.content.get("width"),
        media=bundle.content.get("media"),
        suggestions=[suggestion_view(s) for s in model.suggestions] if model.suggestions else None,
        reference=bundle.reference,
        tags=bundle.tags,
        unique_id=bundle.unique_id,
        created=bundle.created_at,
        send_at=bundle.send_at,
        cancelled=bundle.cancelled_at,
        recipient_count=bundle.recipient_count,
        status_counts=counts,
        price=float(bundle.price),
        currency=bundle.currency,
    )


async def bundle_reads(session: AsyncSession, bundles: Sequence[Bundle]) -> list[BundleRead]:
    if not bundles:
        return []
    brands, agents = await messages.names(
        session, (b.brand_id for b in bundles), (b.agent_id for b in bundles)
    )
    counts = await BundleRepository(session).status_counts([b.id for b in bundles])
    return [
        bundle_read(b, Names(brands[b.brand_id], agents[b.agent_id]), counts[b.id]) for b in bundles
    ]


async def _find(session: AsyncSession, account_id: str, bundle_id: str) -> Bundle:
    bundle = await BundleRepository(session).get(account_id, bundle_id)
    if bundle is None:
        raise NotFound(f"No bundle {bundle_id}")
    return bundle


async def get_bundle(session: AsyncSession, account_id: str, bundle_id: str) -> BundleRead:
    return (await bundle_reads(session, [await _find(session, account_id, bundle_id)]))[0]


async def list_bundles(
    session: AsyncSession, account_id: str, tags: Sequence[str], params: PageParams
) -> tuple[Page[Bundle], list[BundleRead]]:
    statement = BundleRepository(session).of_account(account_id, tags)
    page = await paginate(session, statement, params, Bundle.id)
    return page, await bundle_reads(session, page.items)


async def cancel_bundle(
    session: AsyncSession, clock: Clock, account_id: str, bundle_id: str
) -> BundleRead:
    """Every message not yet handed to an operator becomes Cancelled, with that event."""
    bundle = await _find(session, account_id, bundle_id)
    now = clock.now()
    repository = BundleRepository(session)
    cancelled = await repository.cancel_pending(bundle.id, now)
    await MessageRepository(session).insert_events(
        {
            "id": new_id(),
            "message_id": message_id,
            "status": "Cancelled",
            "channel": "RCS",
            "operator": None,
            "reason": "Bundle cancelled",
            "at": now,
        }
        for message_id in cancelled
    )
    await webhooks.message_status(session, cancelled, "Cancelled")
    if bundle.cancelled_at is None:
        bundle.cancelled_at = now
    await session.flush()
    return (await bundle_reads(session, [bundle]))[0]


async def bundle_messages(
    session: AsyncSession,
    account_id: str,
    bundle_id: str,
    status: str | None,
    params: PageParams,
) -> tuple[Page[Message], list[MessageRead]]:
    bundle = await _find(session, account_id, bundle_id)
    statement = BundleRepository(session).messages(bundle.id)
    if status is not None:
        statement = statement.where(Message.status == status)
    return await messages.read_page(session, statement, params)


async def bundle_message(
    session: AsyncSession, account_id: str, bundle_id: str, message_id: str
) -> MessageRead:
    read = await messages.get_message(session, account_id, message_id)
    if read.bundle_id != bundle_id:
        raise NotFound(f"Bundle {bundle_id} has no message {message_id}")
    return read
