"""What every flow run shares: approval of notices, scheduled revocations, what the Prefect UI shows."""
