"""relevo's flows, CLI and webhook receiver. Prefect is imported only where a flow runs."""
