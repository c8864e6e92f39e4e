"""Every canary secret the tests use, in one place.

A canary is a credential value that must never leave relevo: tests look for it in errors, logs,
artifacts and files. Each has a distinct, searchable value so a leak names its source.
"""

from __future__ import annotations

TOKEN = "canary-Zq8v1-secret-token-do-not-log"  # a connector's API token (tests/connectors)
HTTP_TOKEN = "sk-canary-7f3a9b1c"  # the transport's own tests (tests/test_http.py)
FACTORIAL_KEY = "fct-canary-8c2d4e6f0a"  # Factorial's x-api-key
BAMBOOHR_KEY = "bhr-canary-1f9e7d3c5b"  # BambooHR's API key (HTTP Basic user)
SCIM_TOKEN = "scim-test-token-canary-7f3a"  # the session's scim2-server (tests/conftest.py)
WEBHOOK_KEY = "bhr-webhook-key-canary-5e1d"  # BambooHR's webhook private key
FACTORIAL_CHALLENGE = "factorial-challenge-canary-77a0"  # Factorial's webhook challenge

# The simulated company's credentials (tests/sim/company.py), by environment variable.
SIMULATED = {
    "SIM_BAMBOOHR_KEY": "canary-bamboohr-key-5c1e",
    "SIM_HUBSPOT_TOKEN": "canary-hubspot-token-77ad",
    "SIM_GRAPH_TOKEN": "canary-graph-token-02b9",
    "SIM_META_TOKEN": "canary-meta-token-9f41",
    "SIM_HOOTSUITE_TOKEN": "canary-hootsuite-token-3e0c",
    "SIM_TIKTOK_TOKEN": "canary-tiktok-token-b8d2",
    "SIM_SCIM_TOKEN": SCIM_TOKEN,
    "SIM_WEBHOOK_KEY": "canary-bamboohr-webhook-key-61f0",
    "SIM_HIBOB_TOKEN": "canary-hibob-token-4a7d",
    "SIM_HIBOB_WEBHOOK_SECRET": "canary-hibob-webhook-secret-0d3b",
}

ALL = frozenset(
    {
        TOKEN,
        HTTP_TOKEN,
        FACTORIAL_KEY,
        BAMBOOHR_KEY,
        SCIM_TOKEN,
        WEBHOOK_KEY,
        FACTORIAL_CHALLENGE,
        *SIMULATED.values(),
    }
)


def leaked(text: str) -> list[str]:
    """The canaries that appear in `text` (empty when none does)."""
    return sorted(c for c in ALL if c in text)
