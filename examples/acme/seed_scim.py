"""Create Acme's users in a local SCIM service, so the SCIM example has someone to offboard.

    scim2-server --port 8099 --bearer-token "$ACME_SCIM_TOKEN" &
    python examples/acme/seed_scim.py [http://127.0.0.1:8099/v2]

Safe to run twice: a user that already exists is left as it is.
"""

from __future__ import annotations

import os
import sys

from relevo.connectors.errors import ConnectorError
from relevo.connectors.http import HttpClient
from relevo.connectors.scim import SCIM_JSON, USER_SCHEMA, scim_error

DEFAULT_URL = "http://127.0.0.1:8099/v2"

# The social team's access to the company's social-media suite (fictitious people, see hr.json).
USERS = [
    ("carmen.ruiz@acme-comunicacion.example", "Carmen Ruiz Serrano", "admin"),
    ("laura.martinez@acme-comunicacion.example", "Laura Martínez Ferrer", "admin"),
    ("diego.navarro@acme-comunicacion.example", "Diego Navarro Puig", "viewer"),
    ("tomas.aguilar@acme-comunicacion.example", "Tomás Aguilar Peña", "editor"),
]


def seed(base_url: str, token: str) -> dict[str, str]:
    """Create each user unless present; returns userName → "created" or "already there"."""
    client = HttpClient(
        "scim",
        base_url,
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token],
        error_parser=scim_error,
    )
    result = {}
    for email, name, role in USERS:
        user = {
            "schemas": [USER_SCHEMA],
            "userName": email,
            "displayName": name,
            "active": True,
            "emails": [{"value": email, "type": "work", "primary": True}],
            "roles": [{"value": role}],
        }
        response = client.request(
            "POST", "Users", json=user, headers={"Content-Type": SCIM_JSON}, allow=(409,)
        )
        result[email] = "already there" if response.status_code == 409 else "created"
    return result


def main() -> int:
    base_url = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL
    token = os.environ.get("ACME_SCIM_TOKEN", "")
    if not token:
        print("Set ACME_SCIM_TOKEN to the token the SCIM server accepts (scim2-server --bearer-token).")
        return 2
    try:
        for email, what in seed(base_url, token).items():
            print(f"{what:>13}  {email}")
    except ConnectorError as exc:
        print(f"Could not seed {base_url}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
