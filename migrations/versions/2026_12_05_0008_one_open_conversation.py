"""one open conversation per agent and recipient, kept by the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 18:00:00.000000

Conversation starts are written by several group-commit batches at once; the service closes
the open conversation of an agent and recipient before opening the next, and this index makes
that hold whatever runs concurrently (a batch that loses the race fails and is retried). Any
duplicates an earlier version let through are closed first, the newest kept open.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'Open'")


def upgrade() -> None:
    op.execute(
        "UPDATE conversations SET status = 'Closed', closed_at = last_activity_at "
        "WHERE status = 'Open' AND EXISTS (SELECT 1 FROM conversations AS newer "
        "WHERE newer.agent_id = conversations.agent_id "
        "AND newer.recipient = conversations.recipient "
        "AND newer.status = 'Open' AND newer.id > conversations.id)"
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_conversations_one_open",
            ["agent_id", "recipient"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("uq_conversations_one_open")
