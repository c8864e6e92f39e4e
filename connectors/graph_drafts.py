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

Credentials: an app registration's client credentials (tenant, client id, and a client secret or a
certificate), exchanged for app-only tokens by Microsoft's own library, MSAL
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow). Tokens
last 60-90 minutes and drafts are placed after approval, up to 72 h later: MSAL's token cache
hands out the cached token and renews it before it expires, and a 401 renews it once more.
Spec: the request and answer shapes are checked in the tests against the subset of Microsoft's
Graph v1.0 metadata in tests/specs/ (see tests/specs/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from relevo.connectors.addresses import mailbox
from relevo.connectors.errors import AuthenticationError, ConnectionFailed
from relevo.connectors.health import Finding, token_claims
from relevo.connectors.http import DEFAULT_TIMEOUT, BearerTokens, HttpClient
from relevo.model import ConfigurationError, Draft

BASE_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = (
    "https://graph.microsoft.com/.default"  # app-only: the application permissions granted (Mail.ReadWrite)
)
NEEDED_ROLE = "Mail.ReadWrite"  # app-only tokens list application permissions in the `roles` claim
# A fixed GUID for relevo's property set (uuid5 of https://relevo.dev/graph); never change it.
KEY_PROPERTY = "String {97b4ff51-5612-5072-9e51-cc6173188a33} Name X-Relevo-Key"
LOCALE_PROPERTY = "Integer 0x3FF1"  # PidTagMessageLocaleId (PtypInteger32), "{type} {proptag}" form
# Neutral language identifiers of the notice languages (MS-LCID): Exchange maps them to language tags.
LCIDS = {"ca": 0x0003, "de": 0x0007, "en": 0x0009, "es": 0x000A, "fr": 0x000C, "pt": 0x0016}


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled (an apostrophe in an e-mail must not end it)."""
    return "'" + value.replace("'", "''") + "'"


def recipient(name: str, email: str) -> dict[str, Any]:
    """A Graph recipient from a checked address (relevo.connectors.addresses) and a cleaned display name."""
    address = mailbox(name, email)
    entry: dict[str, str] = {"address": address.addr_spec}
    if address.display_name:
        entry["name"] = address.display_name
    return {"emailAddress": entry}


class ClientCredentials(BearerTokens):
    """App-only Graph tokens for one app registration, through MSAL's ConfidentialClientApplication.

    `secret` is a client secret, or `certificate` a PEM private key with its thumbprint (the SHA-1
    of the certificate uploaded to the app registration). MSAL keeps the token in its cache and
    renews it before it expires (acquire_token_for_client looks in the cache first).
    """

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        secret: str | None = None,
        certificate: tuple[str, str] | None = None,
        login_url: str = LOGIN_URL,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        import msal  # only when Microsoft 365 drafts are configured

        credential: Any
        if secret and not certificate:
            credential, self.secrets = secret, [secret]
        elif certificate and not secret:
            credential = {"private_key": certificate[0], "thumbprint": certificate[1]}
            self.secrets = [certificate[0]]
        else:
            raise ConfigurationError(
                "Microsoft Graph: give a client secret or a certificate (one of the two)"
            )
        self.cache = msal.TokenCache()
        self.app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=credential,
            authority=f"{login_url.rstrip('/')}/{quote(tenant_id, safe='')}",
            token_cache=self.cache,
            http_client=session or requests.Session(),
            timeout=DEFAULT_TIMEOUT[1],
            instance_discovery=False,
        )

    def fetch(self, force: bool) -> str:
        if force:  # the cached token was refused: drop it so MSAL asks for a new one
            for entry in list(self.cache.search(self.cache.CredentialType.ACCESS_TOKEN)):
                self.cache.remove_at(entry)
        try:
            result = self.app.acquire_token_for_client(scopes=[SCOPE])
        except (requests.RequestException, ValueError) as exc:  # MSAL lets transport errors through
            raise ConnectionFailed(
                f"Microsoft identity platform token request failed ({type(exc).__name__})",
                vendor="microsoft-graph",
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            # error codes only: error_description can quote the request (never the secret, but keep it short)
            code = (result or {}).get("error", "no token") if isinstance(result, dict) else "no token"
            codes = (result or {}).get("error_codes") if isinstance(result, dict) else None
            raise AuthenticationError(
                f"Microsoft identity platform refused the client credentials ({code}"
                f"{f', AADSTS{codes[0]}' if codes else ''})",
                vendor="microsoft-graph",
            )
        return str(result["access_token"])


class StaticToken(BearerTokens):
    """A fixed access token: tests and simulators only. It expires (60-90 min) and cannot be renewed."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.value = token

    def fetch(self, force: bool) -> str:
        return self.value


class GraphDrafts:
    """DraftStore for Exchange Online mailboxes."""

    def __init__(
        self,
        tokens: BearerTokens | str,
        base_url: str = BASE_URL,
        *,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        auth = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.http = HttpClient(
            "microsoft-graph",
            base_url,
            auth=auth,
            secrets=getattr(auth, "secrets", []),
            session=session,
            **kwargs,
        )
        self.location = "Drafts folder of each successor's Microsoft 365 mailbox"
        self.reaches_mailbox = True

    def existing(self, draft: Draft) -> str | None:
        """The id of a message in the mailbox already carrying this draft's key, if any."""
        condition = (
            f"singleValueExtendedProperties/any(ep: ep/id eq {odata_string(KEY_PROPERTY)} "
            f"and ep/value eq {odata_string(draft.key)})"
        )
        body = self.http.json(
            "GET",
            f"/users/{quote(draft.mailbox, safe='@')}/messages",
            params={"$filter": condition, "$select": "id,isDraft", "$top": "1"},
        )
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
            "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": draft.key}]
            + (
                [{"id": LOCALE_PROPERTY, "value": str(LCIDS[draft.language])}]
                if draft.language in LCIDS
                else []
            ),
        }
        # A POST is not retried on 5xx (it could create a second draft); the next run finds it by key.
        self.http.json("POST", f"/users/{quote(draft.mailbox, safe='@')}/messages", json=message)
        return True, where

    def discard(self, draft: Draft) -> bool:
        """Nothing to remove: this store reaches a mailbox, so it places approved drafts only and never holds
        a review copy (the flow keeps review copies only in stores that do not reach a mailbox)."""
        return False

    def check(self, mailbox: str | None = None) -> list[Finding]:
        """`relevo doctor`: a token is issued, it carries Mail.ReadWrite, and a mailbox's messages can be read."""
        token = self.http.session.auth.token()  # type: ignore[union-attr]
        roles = token_claims(token).get("roles")
        if isinstance(self.http.session.auth, StaticToken):
            findings = [
                Finding(
                    "warning",
                    "drafts",
                    "a fixed Graph token (drafts.token) expires within 90 minutes and "
                    "is never renewed: set tenant_id, client_id and client_secret or certificate",
                )
            ]
        else:
            findings = [Finding("ok", "drafts", "Microsoft identity platform issued an app-only Graph token")]
        if isinstance(roles, list):
            if NEEDED_ROLE in roles:
                findings.append(
                    Finding("ok", "drafts", f"the token carries the application permission {NEEDED_ROLE}")
                )
            else:
                findings.append(
                    Finding(
                        "error",
                        "drafts",
                        f"the token lacks the application permission {NEEDED_ROLE}"
                        " (grant it and give admin consent in the app registration)",
                    )
                )
        if mailbox:
            self.http.json(
                "GET", f"/users/{quote(mailbox, safe='@')}/messages", params={"$select": "id", "$top": "1"}
            )
            findings.append(Finding("ok", "drafts", f"messages of {mailbox} can be read"))
        return findings
