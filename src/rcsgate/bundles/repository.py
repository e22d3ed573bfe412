from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rcsgate.models import Bundle, BundleTag, Message

CANCELLABLE = ("Queued", "Scheduled")


class BundleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, bundle: Bundle, tags: Sequence[str]) -> None:
        self.session.add(bundle)
        self.session.add_all(
            BundleTag(bundle_id=bundle.id, tag=tag, account_id=bundle.account_id) for tag in tags
        )

    async def get(self, account_id: str, bundle_id: str) -> Bundle | None:
        return await self.session.scalar(
            select(Bundle).where(Bundle.id == bundle_id, Bundle.account_id == account_id)
        )

    async def by_unique_id(self, account_id: str, unique_id: str) -> Bundle | None:
        return await self.session.scalar(
            select(Bundle).where(Bundle.account_id == account_id, Bundle.unique_id == unique_id)
        )

    def of_account(self, account_id: str, tags: Sequence[str]) -> Select[Bundle]:
        statement = select(Bundle).where(Bundle.account_id == account_id)
        for tag in tags:  # every tag must match
            statement = statement.where(
                Bundle.id.in_(
                    select(BundleTag.bundle_id).where(
                        BundleTag.account_id == account_id, BundleTag.tag == tag
                    )
                )
            )
        return statement

    async def status_counts(self, bundle_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        rows = await self.session.execute(
            select(Message.bundle_id, Message.status, func.count())
            .where(Message.bundle_id.in_(bundle_ids))
            .group_by(Message.bundle_id, Message.status)
        )
        counts: dict[str, dict[str, int]] = {bundle_id: {} for bundle_id in bundle_ids}
        for bundle_id, status, count in rows:
            counts[str(bundle_id)][status] = count
        return counts

    def messages(self, bundle_id: str) -> Select[Message]:
        return select(Message).where(Message.bundle_id == bundle_id)

    async def cancel_pending(self, bundle_id: str, at: datetime) -> list[str]:
        """Messages not yet handed to an operator become Cancelled; returns their ids."""
        result = await self.session.execute(
            update(Message)
            .where(Message.bundle_id == bundle_id, Message.status.in_(CANCELLABLE))
            .values(status="Cancelled", modified_at=at, sequence=Message.sequence + 1)
            .returning(Message.id)
        )
        return list(result.scalars())
