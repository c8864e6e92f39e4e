"""Reading the session's SCIM server (scim2-server) directly, and a flow's summary."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.canaries import SCIM_TOKEN

LAURA = "laura.martinez@acme-comunicacion.example"


def server_user(scim_url: str, user_name: str) -> dict[str, Any]:
    """The user as the SCIM server itself reports it (filter by userName)."""
    response = requests.get(
        f"{scim_url}/Users",
        params={"filter": f'userName eq "{user_name}"'},
        headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
        timeout=5,
    )
    response.raise_for_status()
    (user,) = response.json()["Resources"]
    return dict(user)


def summary_of(result: Any) -> dict[str, Any]:
    """The flow returns its summary, or a Completed state carrying it when manual actions remain."""
    return dict(result if isinstance(result, dict) else result.result())
