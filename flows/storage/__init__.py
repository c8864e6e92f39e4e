"""What relevo keeps: the action ledger and audit log, the webhook inbox, shared rate windows (one SQL database)."""
