"""The `rcsgate` command."""

from __future__ import annotations

import typer

from rcsgate.cli import accounts, inbound, keys, senders
from rcsgate.cli.common import DatabaseUrl, DataDir, console, settings_from
from rcsgate.cli.operators import simulator, worker
from rcsgate.cli.serve import serve
from rcsgate.kit.migrations import upgrade_database

app = typer.Typer(help="rcsgate: RCS business messaging.", no_args_is_help=True)
app.add_typer(accounts.app, name="accounts")
app.add_typer(keys.app, name="keys")
app.add_typer(senders.app, name="senders")
app.add_typer(inbound.app, name="inbound")
app.command()(serve)
app.command()(worker)
app.command()(simulator)


@app.command()
def migrate(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Bring the database schema up to date."""
    settings = settings_from(database_url=database_url, data_dir=data_dir)
    upgrade_database(settings.resolved_database_url)
    console.print("database is up to date")
