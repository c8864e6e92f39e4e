"""Gmail drafts: the notice waits in a person's Gmail Drafts, relevo never sends it.

`POST /gmail/v1/users/{userId}/drafts` with `{"message": {"raw": base64url(RFC 2822)}}`
(scope gmail.compose). Idempotency: the message's Message-ID is a keyed digest of the relevo
draft key (connectors.drafts.message_id, with this installation's secret), and before creating,
relevo lists drafts with `q=rfc822msgid:<id>` (the documented Gmail search operator for one
Message-ID): found means already placed. The key itself is in no header: a client who receives
the message sees an opaque Message-ID like any other, which says nothing about the HR record.
Docs: https://developers.google.com/gmail/api/reference/rest/v1/users.drafts/create,
https://developers.google.com/gmail/api/reference/rest/v1/users.drafts/list.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from connectors.drafts import Draft, message_id, to_message
from connectors.http import HttpClient

BASE_URL = "https://gmail.googleapis.com"


def google_error(response: requests.Response) -> tuple[str, str | None]:
    """Google errors: `{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}`."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "error", None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"], None
    return response.reason or "error", None


class GmailDrafts:
    """DraftStore for Google Workspace mailboxes (a token able to act for each mailbox)."""

    def __init__(self, token: str, base_url: str = BASE_URL, *, id_secret: bytes,
                 sleep: Callable[[float], None] | None = None, session: requests.Session | None = None) -> None:
        """id_secret: kept by the installation (flows.registry keeps it in the output folder); the same
        secret finds the same drafts again, so it must not change between runs."""
        self.id_secret = id_secret
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.http = HttpClient("gmail", base_url, headers={"Authorization": f"Bearer {token}"},
                               secrets=[token], error_parser=google_error, session=session, **kwargs)
        self.location = "Drafts of each successor's Gmail mailbox"
        self.reaches_mailbox = True

    def drafts_path(self, draft: Draft) -> str:
        return f"/gmail/v1/users/{quote(draft.mailbox, safe='@')}/drafts"

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """Looks for the draft's Message-ID first, unless no earlier attempt can have created it."""
        where = f"Drafts of {draft.mailbox} (Gmail)"
        if not first_attempt:
            found = self.http.json("GET", self.drafts_path(draft),
                                   params={"q": f"rfc822msgid:{message_id(draft, self.id_secret)}", "maxResults": 1})
            if (found or {}).get("drafts"):
                return False, where
        raw = base64.urlsafe_b64encode(bytes(to_message(draft, message_id(draft, self.id_secret)))).decode("ascii")
        self.http.json("POST", self.drafts_path(draft), json={"message": {"raw": raw}})
        return True, where
