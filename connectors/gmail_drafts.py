"""Gmail drafts: the notice waits in a person's Gmail Drafts, relevo never sends it.

`POST /gmail/v1/users/{userId}/drafts` with `{"message": {"raw": base64url(RFC 2822)}}`
(scope gmail.compose). Idempotency: the message's Message-ID is a keyed digest of the relevo
draft key (relevo.connectors.drafts.message_id, with this installation's secret), and before creating,
relevo lists drafts with `q=rfc822msgid:<id>` (the documented Gmail search operator for one
Message-ID): found means already placed. The key itself is in no header: a client who receives
the message sees an opaque Message-ID like any other, which says nothing about the HR record.
Docs: https://developers.google.com/gmail/api/reference/rest/v1/users.drafts/create,
https://developers.google.com/gmail/api/reference/rest/v1/users.drafts/list.

Credentials: a Google Workspace service account with domain-wide delegation for the scope
gmail.compose (https://developers.google.com/identity/protocols/oauth2/service-account#delegatingauthority).
A token acts only for the mailbox it was minted for (`sub`): any other `users/{mailbox}` answers
403, so relevo keeps one token per mailbox, minted by Google's own library, google-auth
(`service_account.Credentials.with_subject`), which renews it before it expires (1 h); a 401
renews it once more. Spec: requests and answers are checked in the tests against the relevant
part of Google's Gmail v1 discovery document (tests/specs/gmail-v1-discovery.json).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from relevo.connectors.drafts import message_id, to_message
from relevo.connectors.errors import AuthenticationError, ConnectionFailed
from relevo.connectors.health import Finding
from relevo.connectors.http import DEFAULT_TIMEOUT, BearerTokens, ErrorBody, HttpClient, error_body
from relevo.model import ConfigurationError, Draft

BASE_URL = "https://gmail.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/gmail.compose"  # create and read drafts; never send on its own


def google_error(response: requests.Response) -> ErrorBody:
    """Google errors: `{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}`."""
    return error_body(response, message=[("error", "message")], headers=[])


class MailboxToken(BearerTokens):
    """One mailbox's token: the service account acting as `sub` = that mailbox (domain-wide delegation)."""

    def __init__(self, mailbox: str, credentials: Any, session: requests.Session) -> None:
        super().__init__()
        self.mailbox = mailbox
        self.credentials = credentials
        self.session = session

    def fetch(self, force: bool) -> str:
        from google.auth import exceptions

        if force or not self.credentials.valid:  # `valid` is False 3 min 45 s before expiry (google-auth)
            try:
                self.credentials.refresh(_timed_request(self.session))
            except exceptions.RefreshError as exc:
                # e.g. ("unauthorized_client: Client is unauthorized to retrieve access tokens ...", {...})
                reason = str(exc.args[0]).split(":", 1)[0] if exc.args else "refused"
                raise AuthenticationError(
                    f"Google refused a token for {self.mailbox} ({reason}): "
                    "check domain-wide delegation of gmail.compose for the service account",
                    vendor="gmail",
                ) from None
            except exceptions.TransportError as exc:
                raise ConnectionFailed(
                    f"Google token request failed ({type(exc).__name__})", vendor="gmail"
                ) from None
        return str(self.credentials.token)


def _timed_request(session: requests.Session) -> Any:
    """google-auth's requests transport with relevo's timeout (its default waits 120 s)."""
    from google.auth.transport.requests import Request

    class Timed(Request):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", DEFAULT_TIMEOUT[1])
            return super().__call__(*args, **kwargs)  # type: ignore[no-untyped-call]  # google-auth: no hints

    return Timed(session)


class ServiceAccount:
    """Per-mailbox tokens from one service account key (the JSON Google gives for the account)."""

    def __init__(self, key_json: str, session: requests.Session | None = None) -> None:
        from google.oauth2 import service_account

        try:
            info = json.loads(key_json)
            self.base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[SCOPE]
            )  # google-auth leaves this constructor without type hints
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                "Gmail: the service account key is not a Google service account JSON key"
            ) from None
        self.secrets = [str(info.get("private_key", ""))]
        self.session = session or requests.Session()
        self._mailboxes: dict[str, MailboxToken] = {}
        self._lock = threading.Lock()

    def for_mailbox(self, mailbox: str) -> MailboxToken:
        key = mailbox.casefold()
        with self._lock:
            if key not in self._mailboxes:
                self._mailboxes[key] = MailboxToken(mailbox, self.base.with_subject(mailbox), self.session)
            return self._mailboxes[key]


class GmailDrafts:
    """DraftStore for Google Workspace mailboxes (a token per mailbox, through domain-wide delegation)."""

    def __init__(
        self,
        accounts: ServiceAccount,
        base_url: str = BASE_URL,
        *,
        id_secret: bytes,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """id_secret: kept by the installation (relevo.config.wiring keeps it in the output folder); the same
        secret finds the same drafts again, so it must not change between runs."""
        self.id_secret = id_secret
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.accounts = accounts
        self.http = HttpClient(
            "gmail", base_url, secrets=accounts.secrets, error_parser=google_error, session=session, **kwargs
        )
        self.location = "Drafts of each successor's Gmail mailbox"
        self.reaches_mailbox = True

    def drafts_path(self, draft: Draft) -> str:
        return f"/gmail/v1/users/{quote(draft.mailbox, safe='@')}/drafts"

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """Looks for the draft's Message-ID first, unless no earlier attempt can have created it."""
        where = f"Drafts of {draft.mailbox} (Gmail)"
        if not first_attempt:
            found = self.http.json(
                "GET",
                self.drafts_path(draft),
                auth=self.accounts.for_mailbox(draft.mailbox),
                params={"q": f"rfc822msgid:{message_id(draft, self.id_secret)}", "maxResults": 1},
            )
            if (found or {}).get("drafts"):
                return False, where
        raw = base64.urlsafe_b64encode(bytes(to_message(draft, message_id(draft, self.id_secret)))).decode(
            "ascii"
        )
        self.http.json(
            "POST",
            self.drafts_path(draft),
            auth=self.accounts.for_mailbox(draft.mailbox),
            json={"message": {"raw": raw}},
        )
        return True, where

    def discard(self, draft: Draft) -> bool:
        """Nothing to remove: this store reaches a mailbox, so it places approved drafts only and never holds
        a review copy (the flow keeps review copies only in stores that do not reach a mailbox)."""
        return False

    def check(self, mailbox: str | None = None) -> list[Finding]:
        """`relevo doctor`: a token for the mailbox is minted (delegation granted) and its drafts can be listed."""
        if not mailbox:
            return [
                Finding(
                    "ok", "drafts", "Gmail service account key loaded (no mailbox given to try delegation)"
                )
            ]
        self.http.json(
            "GET",
            f"/gmail/v1/users/{quote(mailbox, safe='@')}/drafts",
            auth=self.accounts.for_mailbox(mailbox),
            params={"maxResults": 1},
        )
        return [
            Finding(
                "ok",
                "drafts",
                f"a delegated gmail.compose token for {mailbox} was issued and its drafts can be listed",
            )
        ]
