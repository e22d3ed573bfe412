"""`rcsgate inbound`: user messages no account could be given."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rcsgate.cli.common import DatabaseUrl, DataDir, JsonFlag, emit, run_with_context, settings_from
from rcsgate.context import AppContext
from rcsgate.dispatch import sms_replies

app = typer.Typer(help="Inbound user messages.", no_args_is_help=True)


@app.command("unroutable")
def list_unroutable(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
    as_json: JsonFlag = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """SMS replies kept because no single account sent from the number they answer."""

    async def work(context: AppContext) -> list[dict[str, Any]]:
        async with context.sessionmaker() as session:
            return [
                {
                    "id": kept.id,
                    "operator": kept.operator,
                    "from": kept.msisdn,
                    "to": kept.to,
                    "text": kept.text,
                    "reason": kept.reason,
                    "accounts": kept.accounts,
                    "receivedAt": kept.received_at.isoformat(),
                }
                for kept in await sms_replies.unroutable(session, limit)
            ]

    found = run_with_context(settings_from(database_url=database_url, data_dir=data_dir), work)
    lines = [
        f"{k['receivedAt']}  {k['from']} -> {k['to']}  {k['reason']} ({k['accounts']} accounts)"
        f"  {k['text']!r}"
        for k in found
    ]
    emit(found, as_json, "\n".join(lines) or "no unroutable messages")
