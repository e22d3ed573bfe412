from __future__ import annotations

from typing import Annotated

import typer

from rcsgate.cli.common import DatabaseUrl, DataDir, JsonFlag, emit, run_with_context, settings_from
from rcsgate.context import AppContext
from rcsgate.keys import service
from rcsgate.keys.schemas import KeyCreated, KeyRead

app = typer.Typer(help="API keys.", no_args_is_help=True)
Account = Annotated[str, typer.Option("--account", help="The account id.")]


@app.command("create")
def create(
    account: Account,
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")],
    allow_ip: Annotated[
        list[str] | None,
        typer.Option("--allow-ip", help="Allowed address or CIDR range; repeatable; none: any."),
    ] = None,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create a key; its token is printed this once."""

    async def work(context: AppContext) -> KeyCreated:
        async with context.sessionmaker.begin() as session:
            key, token = await service.create_key(
                session, context.clock, account_id=account, name=name, allowed_ips=allow_ip or []
            )
            return KeyCreated.model_validate(
                {**KeyRead.model_validate(key).model_dump(), "token": token}
            )

    key = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(
        key.model_dump(mode="json", by_alias=True),
        as_json,
        f"key [bold]{key.id}[/bold] {key.name}\ntoken (shown once): [bold]{key.token}[/bold]",
    )


@app.command("list")
def list_keys(
    account: Account,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List an account's keys (never their tokens)."""

    async def work(context: AppContext) -> list[KeyRead]:
        async with context.sessionmaker() as session:
            return [KeyRead.model_validate(k) for k in await service.list_keys(session, account)]

    keys = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    lines = [
        f"{k.id}  {k.prefix}…  {k.name}  ips={','.join(k.allowed_ips) or 'any'}"
        + ("  REVOKED" if k.revoked else "")
        for k in keys
    ]
    emit(
        [k.model_dump(mode="json", by_alias=True) for k in keys],
        as_json,
        "\n".join(lines) or "no keys",
    )


@app.command("revoke")
def revoke(
    account: Account,
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a key; running servers refuse it within RCSGATE_KEY_CACHE_SECONDS (2 s)."""

    async def work(context: AppContext) -> KeyRead:
        async with context.sessionmaker.begin() as session:
            return KeyRead.model_validate(
                await service.revoke_key(session, context.clock, account, key_id)
            )

    key = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    emit(key.model_dump(mode="json", by_alias=True), as_json, f"key {key.id} revoked")
