"""Reading and replaying an account's webhook deliveries; its signing secrets and URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.errors import NotFound, ValidationFailed
from rcsgate.kit.clock import Clock, isoformat_z
from rcsgate.kit.pagination import Page, PageParams, paginate
from rcsgate.models import WebhookAttempt, WebhookDelivery
from rcsgate.webhooks.repository import WebhookRepository
from rcsgate.webhooks.schemas import (
    AttemptRead,
    RedeliverSince,
    WebhookDeliveryRead,
)
from rcsgate.webhooks.signing import Secrets

DEFAULT_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DeliveryFilters:
    status: str | None = None
    type: str | None = None
    message_id: str | None = None

    def apply(self, statement: Select[WebhookDelivery]) -> Select[WebhookDelivery]:
        for column, value in (
            (WebhookDelivery.status, self.status),
            (WebhookDelivery.type, self.type),
            (WebhookDelivery.message_id, self.message_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        return statement


async def list_deliveries(
    session: AsyncSession, account_id: str, filters: DeliveryFilters, params: PageParams
) -> tuple[Page[WebhookDelivery], list[WebhookDeliveryRead]]:
    statement = filters.apply(WebhookRepository(session).of_account(account_id))
    page = await paginate(session, statement, params, WebhookDelivery.id)
    return page, await delivery_reads(session, page.items)


async def delivery_reads(
    session: AsyncSession, deliveries: Sequence[WebhookDelivery]
) -> list[WebhookDeliveryRead]:
    urls = await WebhookRepository(session).urls(d.endpoint_id for d in deliveries)
    return [delivery_read(d, urls.get(d.endpoint_id, "")) for d in deliveries]


def delivery_read(
    delivery: WebhookDelivery, url: str, attempts: Sequence[WebhookAttempt] | None = None
) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=delivery.id,
        type=delivery.type,
        status=delivery.status,
        url=url,
        message_id=delivery.message_id,
        created=delivery.created_at,
        attempt_count=delivery.attempts,
        last_attempt=delivery.last_attempt_at,
        last_response_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered=delivery.delivered_at,
        give_up=delivery.give_up_at,
        event={
            "id": delivery.id,
            "type": delivery.type,
            "created": isoformat_z(delivery.created_at),
            "data": delivery.data,
        },
        attempts=None if attempts is None else [_attempt_read(a) for a in attempts],
    )


def _attempt_read(attempt: WebhookAttempt) -> AttemptRead:
    return AttemptRead(
        at=attempt.at,
        url=attempt.url,
        response_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
    )


async def _find(session: AsyncSession, account_id: str, delivery_id: str) -> WebhookDelivery:
    delivery = await WebhookRepository(session).get(account_id, delivery_id)
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}")
    return delivery


async def get_delivery(
    session: AsyncSession, account_id: str, delivery_id: str
) -> WebhookDeliveryRead:
    delivery = await _find(session, account_id, delivery_id)
    repository = WebhookRepository(session)
    urls = await repository.urls([delivery.endpoint_id])
    attempts = await repository.attempts(delivery.id)
    return delivery_read(delivery, urls.get(delivery.endpoint_id, ""), attempts)


async def redeliver(
    session: AsyncSession, clock: Clock, account_id: str, delivery_id: str
) -> WebhookDeliveryRead:
    """Send one delivery again, whatever its status, with the same id."""
    await _find(session, account_id, delivery_id)
    await WebhookRepository(session).redeliver(account_id, clock.now(), delivery_id=delivery_id)
    session.expire_all()
    return await get_delivery(session, account_id, delivery_id)


async def replay(session: AsyncSession, clock: Clock, account_id: str, data: RedeliverSince) -> int:
    if data.since.tzinfo is None:
        raise ValidationFailed.field("/since", "must carry a time zone, e.g. Z")
    return await WebhookRepository(session).redeliver(
        account_id, clock.now(), since=data.since, status=data.status
    )


# Secrets and the account's URL (CLI now; the portal later)


async def signing_secrets(session: AsyncSession, account_id: str) -> Secrets:
    found = await WebhookRepository(session).signing_secrets(account_id)
    if found is None:
        raise NotFound(f"No account {account_id}")
    return found


async def rotate_secret(
    session: AsyncSession, clock: Clock, account_id: str, overlap: timedelta = DEFAULT_OVERLAP
) -> Secrets:
    """A new current secret; the old one keeps signing beside it for `overlap`."""
    if overlap < timedelta(0):
        raise ValidationFailed.field("/overlap", "must not be negative")
    repository = WebhookRepository(session)
    current = await signing_secrets(session, account_id)
    await repository.rotate(account_id, current.current, clock.now() + overlap)
    return await signing_secrets(session, account_id)


async def set_account_url(session: AsyncSession, account_id: str, url: str | None) -> None:
    """The account's deliveryReportUrl: where events go when neither the request nor the
    agent names one. None clears it."""
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed.field("/deliveryReportUrl", "must be an absolute http(s) URL")
    if not await WebhookRepository(session).set_account_url(account_id, url):
        raise NotFound(f"No account {account_id}")


def secrets_view(found: Secrets, now: datetime) -> dict[str, object]:
    """What `rcsgate accounts webhook-secret` prints: the secrets signing now."""
    previous = found.previous if found.previous_until and now < found.previous_until else None
    return {
        "secret": found.current,
        "previousSecret": previous,
        "previousUntil": isoformat_z(found.previous_until)
        if previous and found.previous_until
        else None,
    }
