"""`python -m relevo.cli`: the same command as `relevo`."""

from relevo.cli.main import app

app()
