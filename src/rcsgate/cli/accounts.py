from __future__ import annotations

from typing import Annotated

import typer

from rcsgate.accounts import service
from rcsgate.accounts.schemas import AccountRead
from rcsgate.cli.common import DatabaseUrl, DataDir, JsonFlag, emit, run_with_context, settings_from
from rcsgate.context import AppContext

app = typer.Typer(help="Customer accounts.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The account's name.")],
    email: Annotated[str, typer.Option(help="Contact e-mail; also the portal log-in.")],
    password: Annotated[
        str | None, typer.Option(help="Creates a portal user with this password.")
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Requests/s for all keys together.")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code.")] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account."""
    settings = settings_from(database_url=database_url, data_dir=data_dir)

    async def work(context: AppContext) -> AccountRead:
        async with context.sessionmaker.begin() as session:
            account = await service.create_account(
                session,
                context.clock,
                name=name,
                email=email,
                currency=currency or settings.currency,
                rate_limit=rate_limit or settings.default_rate_limit,
                password=password,
            )
            return AccountRead.model_validate(account)

    account = run_with_context(settings, work)
    emit(
        account.model_dump(mode="json", by_alias=True),
        as_json,
        f"account [bold]{account.id}[/bold] {account.name} ({account.rate_limit} req/s)",
    )
