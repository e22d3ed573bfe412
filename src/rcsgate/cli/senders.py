"""`rcsgate senders`: the SMS sender IDs an account may send as, verified by an operator."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from rcsgate.cli.common import DatabaseUrl, DataDir, JsonFlag, emit, run_with_context, settings_from
from rcsgate.context import AppContext
from rcsgate.senders import service
from rcsgate.senders.schemas import SenderRead

app = typer.Typer(
    help="SMS sender IDs per account (a send naming another is refused 403).",
    no_args_is_help=True,
)
Account = Annotated[str, typer.Option("--account", help="The account id.")]
SenderName = Annotated[
    str, typer.Option("--sender", help="Up to 11 letters and digits, or a number.")
]
VerifiedBy = Annotated[
    str | None,
    typer.Option("--verified-by", help="Who checked the account owns it; default: your login."),
]


def _describe(sender: SenderRead) -> str:
    state = (
        f"verified {sender.verified:%Y-%m-%d} by {sender.verified_by}"
        if sender.verified
        else "NOT verified"
    )
    return f"{sender.sender}  {state}"


@app.command("add")
def add(
    account: Account,
    sender: SenderName,
    verified_by: VerifiedBy = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Add it unverified; verify later.")
    ] = False,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Add a sender to the account, verified at once unless --pending."""
    by = None if pending else verified_by or getpass.getuser()

    async def work(context: AppContext) -> SenderRead:
        async with context.sessionmaker.begin() as session:
            added = await service.add_sender(
                session, context.clock, account, sender, verified_by=by
            )
            return SenderRead.model_validate(added)

    found = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(found.model_dump(mode="json", by_alias=True), as_json, _describe(found))


@app.command("verify")
def verify(
    account: Account,
    sender: SenderName,
    verified_by: VerifiedBy = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Verify a sender added with --pending."""
    by = verified_by or getpass.getuser()

    async def work(context: AppContext) -> SenderRead:
        async with context.sessionmaker.begin() as session:
            found = await service.verify_sender(session, context.clock, account, sender, by)
            return SenderRead.model_validate(found)

    found = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(found.model_dump(mode="json", by_alias=True), as_json, _describe(found))


@app.command("list")
def list_senders(
    account: Account,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List the account's senders."""

    async def work(context: AppContext) -> list[SenderRead]:
        async with context.sessionmaker() as session:
            found = await service.list_senders(session, account)
            return [SenderRead.model_validate(s) for s in found]

    found = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(
        [s.model_dump(mode="json", by_alias=True) for s in found],
        as_json,
        "\n".join(_describe(s) for s in found) or "no senders",
    )


@app.command("remove")
def remove(
    account: Account,
    sender: SenderName,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Remove a sender; new sends naming it are refused (accepted ones keep it)."""

    async def work(context: AppContext) -> SenderRead:
        async with context.sessionmaker.begin() as session:
            removed = await service.remove_sender(session, account, sender)
            return SenderRead.model_validate(removed)

    found = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(found.model_dump(mode="json", by_alias=True), as_json, f"sender {found.sender} removed")
