"""NOTIFY at the commit of new jobs and webhook deliveries (PostgreSQL only; kit.wakeup)

The relay loops and webhook senders of every process LISTEN on these channels, so work one
process commits wakes the loops of all the others at once, instead of their polling. One
statement-level trigger per table: a multi-row INSERT notifies once, and PostgreSQL folds the
notifications of one transaction into one. SQLite has no NOTIFY: nothing to do there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 18:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = {"jobs": "rcsgate_jobs", "webhook_deliveries": "rcsgate_webhooks"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION rcsgate_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(TG_ARGV[0], '');
            RETURN NULL;
        END
        $$
        """
    )
    for table, channel in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION rcsgate_notify('{channel}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS rcsgate_notify()")
