from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from rcsgate.accounts import service
from rcsgate.accounts.schemas import AccountRead
from rcsgate.cli.common import DatabaseUrl, DataDir, JsonFlag, emit, run_with_context, settings_from
from rcsgate.context import AppContext
from rcsgate.webhooks import service as webhooks

app = typer.Typer(help="Customer accounts.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The account's name.")],
    email: Annotated[str, typer.Option(help="Contact e-mail; also the portal log-in.")],
    ask_password: Annotated[
        bool,
        typer.Option(
            "--password", help="Also create a portal user; ask for its password (hidden, twice)."
        ),
    ] = False,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Also create a portal user; read its password from stdin."
        ),
    ] = False,
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
    password = _portal_password(ask_password, password_stdin)

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


def _portal_password(ask: bool, from_stdin: bool) -> str | None:
    """Never from the command line, where `ps` and shell history would show it. The prompt
    goes to stderr, so `--json` output stays parseable."""
    if ask and from_stdin:
        raise typer.BadParameter("give --password or --password-stdin, not both")
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if ask:
        answer: str = typer.prompt(
            "Portal password", hide_input=True, confirmation_prompt=True, err=True
        )
        return answer
    return None


AccountOption = Annotated[str, typer.Option("--account", help="The account's id.")]
webhook_secret = typer.Typer(
    help="The secret that signs the account's webhooks (Standard Webhooks, whsec_...).",
    no_args_is_help=True,
)
app.add_typer(webhook_secret, name="webhook-secret")


@webhook_secret.command("show")
def show_webhook_secret(
    account: AccountOption,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Print the secrets that sign now (made on first use)."""
    _secrets_command(account, None, as_json, database_url, data_dir)


@webhook_secret.command("rotate")
def rotate_webhook_secret(
    account: AccountOption,
    overlap_hours: Annotated[
        float, typer.Option("--overlap-hours", min=0, help="How long the old secret still signs.")
    ] = 24.0,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Make a new secret; the old one signs beside it until the overlap ends."""
    _secrets_command(account, timedelta(hours=overlap_hours), as_json, database_url, data_dir)


def _secrets_command(
    account: str,
    rotate_with_overlap: timedelta | None,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    settings = settings_from(database_url=database_url, data_dir=data_dir)

    async def work(context: AppContext) -> dict[str, object]:
        async with context.sessionmaker.begin() as session:
            if rotate_with_overlap is None:
                found = await webhooks.signing_secrets(session, account)
            else:
                found = await webhooks.rotate_secret(
                    session, context.clock, account, rotate_with_overlap
                )
            return webhooks.secrets_view(found, context.clock.now())

    _print_secrets(run_with_context(settings, work), as_json)


def _print_secrets(view: dict[str, object], as_json: bool) -> None:
    human = f"webhook secret: [bold]{view['secret']}[/bold]"
    if view["previousSecret"]:
        human += f"\nprevious (signs too until {view['previousUntil']}): {view['previousSecret']}"
    emit(view, as_json, human)


@app.command("webhook-url")
def set_webhook_url(
    account: AccountOption,
    url: Annotated[
        str | None, typer.Option(help="Where events go when no request or agent names a URL.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the account's URL.")] = False,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Set the account's deliveryReportUrl (the fallback after the request's and the agent's)."""
    if (url is None) == (not clear):
        raise typer.BadParameter("give --url URL or --clear")
    settings = settings_from(database_url=database_url, data_dir=data_dir)

    async def work(context: AppContext) -> None:
        async with context.sessionmaker.begin() as session:
            await webhooks.set_account_url(session, account, None if clear else url)

    run_with_context(settings, work)
    emit(
        {"id": account, "deliveryReportUrl": url}, as_json, f"account {account}: {url or 'no URL'}"
    )
