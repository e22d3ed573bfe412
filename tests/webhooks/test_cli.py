"""`rcsgate accounts webhook-secret show|rotate` and `rcsgate accounts webhook-url`."""

from __future__ import annotations

from rcsgate.context import AppContext
from rcsgate.models import Account
from tests.cli.test_cli import db, invoke, rcsgate
from tests.conftest import Tenant

__all__ = ["db"]


async def test_show_then_rotate_keeps_the_old_secret_for_the_overlap(
    db: str, tenant: Tenant
) -> None:
    shown = await rcsgate(db, "accounts", "webhook-secret", "show", "--account", tenant.account_id)
    again = await rcsgate(db, "accounts", "webhook-secret", "show", "--account", tenant.account_id)
    rotated = await rcsgate(
        db,
        "accounts",
        "webhook-secret",
        "rotate",
        "--account",
        tenant.account_id,
        "--overlap-hours",
        "2",
    )

    assert shown["secret"].startswith("whsec_")
    assert again == shown
    assert (shown["previousSecret"], shown["previousUntil"]) == (None, None)
    assert rotated["secret"] not in (shown["secret"], None)
    assert rotated["previousSecret"] == shown["secret"]
    assert rotated["previousUntil"].endswith("Z")


async def test_an_unknown_account_is_an_error(db: str) -> None:
    result = await invoke(
        "accounts", "webhook-secret", "show", "--account", "0" * 24, "--database-url", db
    )
    assert result.exit_code == 1
    assert "No account" in result.output


async def test_the_account_url_is_set_and_cleared(
    db: str, tenant: Tenant, context: AppContext
) -> None:
    url = "https://hooks.example.com/rcs"
    shown = await rcsgate(
        db, "accounts", "webhook-url", "--account", tenant.account_id, "--url", url
    )
    async with context.sessionmaker() as session:
        account = await session.get(Account, tenant.account_id)
        assert account is not None
        assert account.delivery_report_url == url
    await rcsgate(db, "accounts", "webhook-url", "--account", tenant.account_id, "--clear")
    async with context.sessionmaker() as session:
        account = await session.get(Account, tenant.account_id)
        assert account is not None
        assert account.delivery_report_url is None
    assert shown["deliveryReportUrl"] == url


async def test_a_url_that_is_not_http_is_refused(db: str, tenant: Tenant) -> None:
    result = await invoke(
        "accounts",
        "webhook-url",
        "--account",
        tenant.account_id,
        "--url",
        "ftp://x/y",
        "--database-url",
        db,
    )
    assert result.exit_code == 1
    assert "/deliveryReportUrl" in result.output
