"""Plain clients for the outside systems relevo talks to (no Prefect import here)."""
