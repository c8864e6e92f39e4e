"""Microsoft 365 drafts through Microsoft Graph: the notice waits in a person's Drafts folder.

`POST /users/{id|upn}/messages` creates a draft (201, `isDraft: true`); relevo never calls `/send`.
Idempotency: every draft carries the relevo key in a named single-value extended property
(a MAPI string property in relevo's own GUID namespace, not the internet-headers one, so it stays
in the mailbox and is never transmitted). Graph can `$filter` messages on such a property
(`singleValueExtendedProperties/any(...)`), so before creating, relevo asks the mailbox for a
message with that key; a draft the person already sent is found too and is not drafted again. On
the ledger's first attempt at a draft nothing can exist yet, and that lookup is skipped.
No `internetMessageHeaders`: custom x- headers set at creation are sent with the message, and the
key (HR id included) must never reach a client. `Date` is stamped by Exchange when the person sends;
`Content-Language` is written by Exchange from the message's PidTagMessageLocaleId (MS-OXCMAIL
2.1.3.2.16), which relevo sets to the notice language's neutral LCID (MS-LCID). UNCONFIRMED on a live
tenant: that Exchange Online writes the header for a neutral LCID as the bare tag ("es").
Docs: https://learn.microsoft.com/graph/api/user-post-messages,
https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get (filter syntax).
Permission: Mail.ReadWrite (application permission for other people's mailboxes).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from connectors.addresses import mailbox
from connectors.drafts import Draft
from connectors.http import HttpClient

BASE_URL = "https://graph.microsoft.com/v1.0"
# A fixed GUID for relevo's property set (uuid5 of https://relevo.dev/graph); never change it.
KEY_PROPERTY = "String {97b4ff51-5612-5072-9e51-cc6173188a33} Name X-Relevo-Key"
LOCALE_PROPERTY = "Integer 0x3FF1"  # PidTagMessageLocaleId (PtypInteger32), "{type} {proptag}" form
# Neutral language identifiers of the notice languages (MS-LCID): Exchange maps them to language tags.
LCIDS = {"ca": 0x0003, "de": 0x0007, "en": 0x0009, "es": 0x000A, "fr": 0x000C, "pt": 0x0016}


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled (an apostrophe in an e-mail must not end it)."""
    return "'" + value.replace("'", "''") + "'"


def recipient(name: str, email: str) -> dict[str, Any]:
    """A Graph recipient from a checked address (connectors.addresses) and a cleaned display name."""
    address = mailbox(name, email)
    entry: dict[str, str] = {"address": address.addr_spec}
    if address.display_name:
        entry["name"] = address.display_name
    return {"emailAddress": entry}


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
            "toRecipients": [recipient(draft.to_name, draft.to_email)],
            "ccRecipients": [recipient("", cc) for cc in draft.cc],
            "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": draft.key}] + (
                [{"id": LOCALE_PROPERTY, "value": str(LCIDS[draft.language])}] if draft.language in LCIDS else []),
        }
        # A POST is not retried on 5xx (it could create a second draft); the next run finds it by key.
        self.http.json("POST", f"/users/{quote(draft.mailbox, safe='@')}/messages", json=message)
        return True, where
