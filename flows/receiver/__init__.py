"""The webhook receiver: verify, store, acknowledge; and the dispatcher that starts the runs."""
