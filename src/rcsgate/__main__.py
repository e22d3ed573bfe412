from rcsgate.cli.main import app

app(prog_name="rcsgate")
