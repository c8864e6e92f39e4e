"""What `relevo doctor` learns from one connector's `check()`: plain findings, no Prefect.

A connector's `check()` only reads (it never changes anything) and returns findings; a
ConnectorError or ConfigurationError it raises is reported by doctor as an error line.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    level: Level  # ok; warning: works today, a person must act; error: does not work
    subject: str  # what was checked ("hr", "drafts", "presence linkedin-page", "webhook ...")
    text: str


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT access token, unverified: only to say which permissions it carries.

    Nothing is trusted from it; the vendor checks the signature on every call. Not a JWT (an
    opaque token): empty.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}
