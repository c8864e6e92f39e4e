"""The `relevo` command (`relevo.cli.main`), `relevo doctor`, and the CLI's view of runs in the Prefect UI."""
