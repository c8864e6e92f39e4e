"""Microsoft 365 drafts through Microsoft Graph: the notice waits in a person's Drafts folder.

`POST /users/{id|upn}/messages` creates a draft (201, `isDraft: true`); relevo never calls `/send`.
Idempotency: every draft carries the relevo key in a named single-value extended property
(MAPI string property in relevo's own namespace). Graph can `$filter` messages on such a
property (`singleValueExtendedProperties/any(...)`), while it cannot filter on
`internetMessageHeaders`, so before creating, relevo asks the mailbox for a message with that
key; a draft the person already sent is found too and is not drafted again. On the ledger's
first attempt at a draft nothing can exist yet, and that lookup is skipped.
Docs: https://learn.microsoft.com/graph/api/user-post-messages,
https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get (filter syntax).
Permission: Mail.ReadWrite (application permission for other people's mailboxes).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from connectors.drafts import Draft
from connectors.http import HttpClient

BASE_URL = "https://graph.microsoft.com/v1.0"
# A fixed GUID for relevo's property set (uuid5 of https://relevo.dev/graph); never change it.
KEY_PROPERTY = "String {97b4ff51-5612-5072-9e51-cc6173188a33} Name X-Relevo-Key"


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled (an apostrophe in an e-mail must not end it)."""
    return "'" + value.replace("'", "''") + "'"


class GraphDrafts:
    """DraftStore for Exchange Online mailboxes."""

    def __init__(self, token: str, base_url: str = BASE_URL, *, sleep: Callable[[float], None] | None = None,
                 session: requests.Session | None = None) -> None:
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.http = HttpClient("microsoft-graph", base_url, headers={"Authorization": f"Bearer {token}"},
                               secrets=[token], session=session, **kwargs)
        self.location = "Drafts folder of each successor's Microsoft 365 mailbox"
        self.reaches_mailbox = True

    def existing(self, draft: Draft) -> str | None:
        """The id of a message in the mailbox already carrying this draft's key, if any."""
        condition = (f"singleValueExtendedProperties/any(ep: ep/id eq {odata_string(KEY_PROPERTY)} "
                     f"and ep/value eq {odata_string(draft.key)})")
        body = self.http.json("GET", f"/users/{quote(draft.mailbox, safe='@')}/messages",
                              params={"$filter": condition, "$select": "id,isDraft", "$top": "1"})
        found = (body or {}).get("value") or []
        return str(found[0]["id"]) if found else None

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        where = f"Drafts of {draft.mailbox} (Microsoft 365)"
        if not first_attempt and self.existing(draft):
            return False, where
        message = {
            "subject": draft.subject,
            "body": {"contentType": "HTML", "content": draft.html},
            "toRecipients": [{"emailAddress": {"address": draft.to_email, "name": draft.to_name}}],
            "ccRecipients": [{"emailAddress": {"address": cc}} for cc in draft.cc],
            "internetMessageHeaders": [{"name": "X-Relevo-Key", "value": draft.key}],
            "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": draft.key}],
        }
        # A POST is not retried on 5xx (it could create a second draft); the next run finds it by key.
        self.http.json("POST", f"/users/{quote(draft.mailbox, safe='@')}/messages", json=message)
        return True, where
