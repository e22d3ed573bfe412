"""sms senders per account; the SMS submit attempt on messages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rcsgate.kit.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_senders",
        sa.Column("account_id", sa.String(length=24), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("created_at", rcsgate.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", rcsgate.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sms_senders_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_senders")),
    )
    with op.batch_alter_table("sms_senders", schema=None) as batch_op:
        batch_op.create_index(
            "uq_sms_senders_account_sender", ["account_id", "sender"], unique=True
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sms_submit_attempted_at",
                rcsgate.kit.db.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sms_submit_attempted_at")
    with op.batch_alter_table("sms_senders", schema=None) as batch_op:
        batch_op.drop_index("uq_sms_senders_account_sender")
    op.drop_table("sms_senders")
