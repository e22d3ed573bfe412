from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from rcsgate.kit.wakeup import announce
from rcsgate.models import Account, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rcsgate.webhooks.emit import CHANNEL, GIVE_UP_AFTER, PENDING
from rcsgate.webhooks.signing import Secrets, new_secret


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Signing secrets

    async def signing_secrets(self, account_id: str) -> Secrets | None:
        """The account's secrets; an account that has none yet (made before webhooks
        existed) gets its first one here."""
        row = await self._secret_row(account_id)
        if row is None:
            return None
        if row[0] is None:
            await self.session.execute(
                update(Account)
                .where(Account.id == account_id, Account.webhook_secret.is_(None))
                .values(webhook_secret=new_secret())
                .execution_options(synchronize_session=False)
            )
            row = await self._secret_row(account_id)
            assert row is not None
            assert row[0] is not None
        return Secrets(row[0], row[1], row[2])

    async def _secret_row(
        self, account_id: str
    ) -> tuple[str | None, str | None, datetime | None] | None:
        result = await self.session.execute(
            select(
                Account.webhook_secret,
                Account.webhook_secret_previous,
                Account.webhook_secret_previous_until,
            ).where(Account.id == account_id)
        )
        row = result.first()
        return (row[0], row[1], row[2]) if row is not None else None

    async def rotate(self, account_id: str, current: str, until: datetime) -> None:
        await self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(
                webhook_secret=new_secret(),
                webhook_secret_previous=current,
                webhook_secret_previous_until=until,
            )
            .execution_options(synchronize_session=False)
        )

    async def set_account_url(self, account_id: str, url: str | None) -> int:
        result = await self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(delivery_report_url=url)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # Deliveries

    def of_account(self, account_id: str) -> Select[WebhookDelivery]:
        return select(WebhookDelivery).where(WebhookDelivery.account_id == account_id)

    async def get(self, account_id: str, delivery_id: str) -> WebhookDelivery | None:
        return await self.session.scalar(
            self.of_account(account_id).where(WebhookDelivery.id == delivery_id)
        )

    async def urls(self, endpoint_ids: Iterable[str]) -> dict[str, str]:
        rows = await self.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.url).where(
                WebhookEndpoint.id.in_(set(endpoint_ids))
            )
        )
        return {row[0]: row[1] for row in rows}

    async def attempts(self, delivery_id: str) -> Sequence[WebhookAttempt]:
        rows = await self.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.at, WebhookAttempt.id)
        )
        return rows.all()

    async def redeliver(
        self,
        account_id: str,
        now: datetime,
        *,
        delivery_id: str | None = None,
        since: datetime | None = None,
        status: str | None = None,
    ) -> int:
        """Queue deliveries again (same ids, so the same `webhook-id`), with a new horizon,
        and let their endpoints try at once: a redelivery is the customer saying the
        endpoint works again."""
        D = WebhookDelivery
        chosen: list[ColumnElement[bool]] = [D.account_id == account_id]
        if delivery_id is not None:
            chosen.append(D.id == delivery_id)
        if since is not None:
            chosen.append(D.created_at >= since)
        if status is not None:
            chosen.append(D.status == status)
        endpoints = select(D.endpoint_id).where(*chosen).distinct()
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoints.scalar_subquery()))
            .values(retry_at=None)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(
            update(D)
            .where(*chosen)
            .values(status=PENDING, give_up_at=now + GIVE_UP_AFTER)
            .execution_options(synchronize_session=False)
        )
        await announce(self.session, CHANNEL)  # pending again: wake the senders
        return int(getattr(result, "rowcount", 0) or 0)
