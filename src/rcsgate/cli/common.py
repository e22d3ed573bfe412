"""What every command shares: settings from flags over the environment, a context, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from rcsgate.config import Settings, SettingsError
from rcsgate.context import AppContext
from rcsgate.errors import RcsgateError

T = TypeVar("T")
console = Console(soft_wrap=True)
err_console = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Overrides RCSGATE_DATABASE_URL.")
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Overrides RCSGATE_DATA_DIR.")]


def settings_from(**overrides: Any) -> Settings:
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def require_operator_secrets(settings: Settings) -> None:
    """Exit 1 with the setting to give (no traceback) rather than serve forgeable callbacks."""
    try:
        settings.require_operator_secrets()
    except SettingsError as error:
        err_console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(1) from error


def run_with_context(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Runs `work` with a fresh context; a domain error becomes a message and exit code 1."""

    async def main() -> T:
        context = AppContext.create(settings)
        try:
            return await work(context)
        finally:
            await context.aclose()

    try:
        return asyncio.run(main())
    except RcsgateError as error:
        err_console.print(f"[red]error:[/red] {error.detail}")
        for field in error.errors:
            err_console.print(f"  {field.field}: {field.message}")
        raise typer.Exit(1) from error


def emit(data: dict[str, Any] | list[dict[str, Any]], as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        console.print(human)
