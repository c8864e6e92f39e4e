"""Microsoft Graph and Gmail draft stores: created once per key, never sent, token never leaked."""

from __future__ import annotations

import base64
import email
import json
import time
from email.policy import default

import pytest
import responses
from responses import matchers

from relevo.connectors.drafts import EmlDrafts, message_id
from relevo.connectors.errors import AuthenticationError, PermissionDenied
from relevo.connectors.gmail_drafts import GmailDrafts, ServiceAccount
from relevo.connectors.graph_drafts import KEY_PROPERTY, ClientCredentials, GraphDrafts
from relevo.model import Draft
from tests.support.mail_login import (
    LOGIN,
    TENANT,
    form_of,
    google_token_endpoint,
    graph_token,
    openid_configuration,
    service_account_key,
)

TOKEN = "eyJ0eXAiOi-canary-token"
SECRET = bytes(range(32))  # the installation's draft id secret (relevo.config.wiring.draft_id_secret)


@pytest.fixture(autouse=True)
def contract(monkeypatch):
    """Every request the draft stores send, and the answer the mock gives, checked against the vendors' specs."""
    from relevo.connectors.http import HttpClient
    from tests.connectors.mail_contract import check

    exchanges = []
    send = HttpClient._send

    def recorded(self, method, path, **kwargs):  # type: ignore[no-untyped-def]
        response = send(self, method, path, **kwargs)
        exchanges.append(response)
        return response

    monkeypatch.setattr(HttpClient, "_send", recorded)
    yield
    for response in exchanges:
        check(response.request, response)


GRAPH = "https://graph.microsoft.com/v1.0"
GMAIL = "https://gmail.googleapis.com/gmail/v1"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "client-secret-canary-8c1d"

DRAFT = Draft(
    key="1001:notice:C005:j.o'connor@seaview.example",
    mailbox="nuria.castells@acme.example",
    sender_name="Nuria Castells",
    to_name="James O'Connor",
    to_email="j.o'connor@seaview.example",
    subject="Acme: Nuria is your new point of contact",
    text="Dear James,\n\nHello.\n",
    html="<p>Dear James,</p>",
    language="en",
    group="C005",
)


def test_graph_creates_a_draft_with_the_key_property_when_none_exists():
    with responses.RequestsMock() as mock:
        search = mock.get(
            f"{GRAPH}/users/nuria.castells@acme.example/messages", json={"@odata.context": "...", "value": []}
        )
        create = mock.post(
            f"{GRAPH}/users/nuria.castells@acme.example/messages",
            status=201,
            json={
                "id": "AAMkAGI2TG93AAA=",
                "isDraft": True,
                "subject": DRAFT.subject,
                "webLink": "https://outlook.office365.com/owa/?ItemID=AAMkAGI2TG93AAA%3D",
            },
        )
        created, where = GraphDrafts(TOKEN).place(DRAFT)
    assert created and "nuria.castells@acme.example" in where
    query = search.calls[0].request.params["$filter"]
    assert f"ep/id eq '{KEY_PROPERTY}'" in query
    assert "ep/value eq '1001:notice:C005:j.o''connor@seaview.example'" in query  # apostrophe escaped
    body = json.loads(create.calls[0].request.body)
    assert body["singleValueExtendedProperties"] == [
        {"id": KEY_PROPERTY, "value": DRAFT.key},
        {"id": "Integer 0x3FF1", "value": "9"},
    ]  # en: Content-Language
    assert "internetMessageHeaders" not in body  # x- headers set at creation are sent with the message
    assert DRAFT.key not in json.dumps(
        {k: v for k, v in body.items() if k != "singleValueExtendedProperties"}
    )
    assert body["toRecipients"][0]["emailAddress"]["address"] == DRAFT.to_email
    assert body["body"] == {"contentType": "HTML", "content": DRAFT.html}
    assert all("/send" not in c.request.url for c in mock.calls)


def test_graph_skips_a_key_already_in_the_mailbox():
    with responses.RequestsMock() as mock:
        mock.get(
            f"{GRAPH}/users/nuria.castells@acme.example/messages",
            json={"value": [{"id": "AAMkAGI2TG93AAA=", "isDraft": True}]},
        )
        created, _ = GraphDrafts(TOKEN).place(DRAFT)
    assert not created  # RequestsMock fails on any unexpected POST


def test_graph_permission_error_is_typed_and_token_free():
    with responses.RequestsMock() as mock:
        mock.get(
            f"{GRAPH}/users/nuria.castells@acme.example/messages",
            status=403,
            json={"error": {"code": "ErrorAccessDenied", "message": f"Access is denied ({TOKEN})."}},
        )
        with pytest.raises(PermissionDenied) as err:
            GraphDrafts(TOKEN).place(DRAFT)
    assert TOKEN not in str(err.value)


def test_gmail_creates_a_raw_rfc2822_draft_with_a_stable_message_id():
    with responses.RequestsMock() as mock:
        listing = mock.get(
            f"{GMAIL}/users/nuria.castells@acme.example/drafts",
            match=[
                matchers.query_param_matcher(
                    {"q": f"rfc822msgid:{message_id(DRAFT, SECRET)}", "maxResults": "1"}
                )
            ],
            json={"resultSizeEstimate": 0},
        )
        create = mock.post(
            f"{GMAIL}/users/nuria.castells@acme.example/drafts",
            match=[matchers.header_matcher({"Authorization": "Bearer ya29.nuria.castells@acme.example-1"})],
            json={
                "id": "r-5417811374326513216",
                "message": {"id": "18c4f7e3a2b1", "threadId": "18c4f7e3a2b1", "labelIds": ["DRAFT"]},
            },
        )
        created, where = gmail(mock).place(DRAFT)
    assert created and listing.call_count == 1
    raw = base64.urlsafe_b64decode(json.loads(create.calls[0].request.body)["message"]["raw"])
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Message-ID"] == message_id(DRAFT, SECRET)
    assert parsed["X-Relevo-Key"] is None and b"1001" not in raw and b"relevo" not in raw.lower()
    assert parsed["To"].addresses[0].username == "j.o'connor"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == DRAFT.text  # SMTP line ends


def test_gmail_skips_a_draft_already_there():
    with responses.RequestsMock() as mock:
        mock.get(
            f"{GMAIL}/users/nuria.castells@acme.example/drafts",
            json={
                "drafts": [{"id": "r-1", "message": {"id": "18c4", "threadId": "18c4"}}],
                "resultSizeEstimate": 1,
            },
        )
        assert gmail(mock).place(DRAFT)[0] is False


def test_message_id_is_stable_per_key_and_eml_grouped_per_client(tmp_path):
    assert message_id(DRAFT, SECRET) == message_id(DRAFT, SECRET)
    other = Draft(**{**DRAFT.__dict__, "key": "1001:notice:C005:olivia@seaview.example"})
    assert message_id(other, SECRET) != message_id(DRAFT, SECRET)
    assert message_id(DRAFT, bytes(32)) != message_id(DRAFT, SECRET)  # without the secret, not guessable
    created, where = EmlDrafts(tmp_path).place(DRAFT)
    assert created and where.startswith(str(tmp_path / "1001" / "C005"))
    assert EmlDrafts(tmp_path).place(DRAFT)[0] is False


CREATED = {
    "graph": (201, {"id": "AAMkAGI2TG93AAA=", "isDraft": True}),
    "gmail": (200, {"id": "r-1", "message": {"id": "18c4", "threadId": "18c4", "labelIds": ["DRAFT"]}}),
}
FOUND = {
    "graph": {"value": [{"id": "AAMkAGI2TG93AAA=", "isDraft": True}]},
    "gmail": {
        "drafts": [{"id": "r-1", "message": {"id": "18c4", "threadId": "18c4"}}],
        "resultSizeEstimate": 1,
    },
}


@pytest.mark.parametrize(
    "store, url",
    [
        ("graph", f"{GRAPH}/users/nuria.castells@acme.example/messages"),
        ("gmail", f"{GMAIL}/users/nuria.castells@acme.example/drafts"),
    ],
)
def test_a_first_attempt_creates_without_looking_and_a_later_one_looks_first(store, url):
    """The ledger's first attempt cannot have a predecessor: one call. Any later attempt looks first."""

    def build(mock):  # type: ignore[no-untyped-def]
        return GraphDrafts(TOKEN) if store == "graph" else gmail(mock)

    with responses.RequestsMock() as mock:  # an unexpected GET fails the test
        status, body = CREATED[store]
        create = mock.post(url, status=status, json=body)
        assert build(mock).place(DRAFT, first_attempt=True)[0] is True
        assert create.call_count == 1 and [
            c.request.method for c in mock.calls if c.request.url.startswith(url)
        ] == ["POST"]
    with responses.RequestsMock() as mock:
        look = mock.get(url, json=FOUND[store])
        assert build(mock).place(DRAFT)[0] is False
        assert look.call_count == 1 and [
            c.request.method for c in mock.calls if c.request.url.startswith(url)
        ] == ["GET"]


# --- credentials that stay valid (issue 12 rows 1 and 2) ---


def gmail(mock, issued: list[str] | None = None) -> GmailDrafts:  # type: ignore[no-untyped-def]
    google_token_endpoint(mock, issued if issued is not None else [])
    return GmailDrafts(ServiceAccount(service_account_key()), id_secret=SECRET)


def test_gmail_mints_a_token_per_mailbox_and_reuses_it():
    """Row 2: a token acts only for its own `sub`; another mailbox gets its own token, each minted once."""
    other = Draft(
        **{**DRAFT.__dict__, "mailbox": "marc.soler@acme.example", "key": "1002:notice:C007:ana@x.example"}
    )
    issued: list[str] = []
    with responses.RequestsMock() as mock:
        store = gmail(mock, issued)
        posts = {
            box: mock.post(
                f"{GMAIL}/users/{box}/drafts",
                json={"id": "r-1", "message": {"id": "18c4"}},
                match=[matchers.header_matcher({"Authorization": f"Bearer ya29.{box}-1"})],
            )
            for box in (DRAFT.mailbox, other.mailbox)
        }
        for draft in (DRAFT, other, DRAFT):
            assert store.place(draft, first_attempt=True)[0] is True
    assert issued == [DRAFT.mailbox, other.mailbox]  # one token per mailbox, cached
    assert posts[DRAFT.mailbox].call_count == 2 and posts[other.mailbox].call_count == 1


def test_gmail_renews_a_mailbox_token_before_it_expires_and_once_on_401(monkeypatch):
    """Row 1: drafts are placed after approval, up to 72 h later; Google's tokens last 1 h."""
    issued: list[str] = []
    url = f"{GMAIL}/users/{DRAFT.mailbox}/drafts"
    with responses.RequestsMock() as mock:
        store = gmail(mock, issued)
        mock.post(url, json={"id": "r-1", "message": {"id": "18c4"}})
        store.place(DRAFT, first_attempt=True)
        later = time.time() + 3 * 3600  # approved three hours later
        monkeypatch.setattr(
            "google.auth._helpers.utcnow", lambda: __import__("datetime").datetime.utcfromtimestamp(later)
        )
        store.place(DRAFT, first_attempt=True)
        assert issued == [DRAFT.mailbox, DRAFT.mailbox]
        auths = [c.request.headers["Authorization"] for c in mock.calls if c.request.url.startswith(url)]
        assert auths == [f"Bearer ya29.{DRAFT.mailbox}-1", f"Bearer ya29.{DRAFT.mailbox}-2"]
    with responses.RequestsMock() as mock:  # the token was revoked early: 401, a new one, the POST once more
        google_token_endpoint(mock, issued)
        mock.post(
            url,
            status=401,
            json={
                "error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials.",
                    "status": "UNAUTHENTICATED",
                }
            },
        )
        mock.post(url, json={"id": "r-2", "message": {"id": "18c5"}})
        assert store.place(DRAFT, first_attempt=True)[0] is True
        assert issued[-1] == DRAFT.mailbox and len(issued) == 3


def test_graph_client_credentials_renew_before_expiry_and_once_on_401(monkeypatch):
    """Row 1: an app-only token lasts 60-90 min; a draft placed three hours after the first must not get a 401."""
    tokens = iter(graph_token(n) for n in range(1, 10))
    with responses.RequestsMock() as mock:
        openid_configuration(mock)
        grant = mock.add_callback(
            responses.POST,
            f"{LOGIN}/oauth2/v2.0/token",
            callback=lambda request: (
                200,
                {},
                json.dumps(
                    {
                        "token_type": "Bearer",
                        "expires_in": 3599,
                        "ext_expires_in": 3599,
                        "access_token": next(tokens),
                    }
                ),
            ),
        )
        create = mock.post(
            f"{GRAPH}/users/{DRAFT.mailbox}/messages", status=201, json={"id": "AAMk", "isDraft": True}
        )
        store = GraphDrafts(ClientCredentials(TENANT, CLIENT_ID, secret=CLIENT_SECRET))
        store.place(DRAFT, first_attempt=True)
        store.place(DRAFT, first_attempt=True)  # the cached token
        assert grant.call_count == 1
        form = form_of(grant.calls[0].request)
        assert form["grant_type"] == ["client_credentials"] and form["scope"] == [
            "https://graph.microsoft.com/.default"
        ]
        assert form["client_id"] == [CLIENT_ID]
        start = time.time()
        monkeypatch.setattr(time, "time", lambda: start + 3 * 3600)
        store.place(DRAFT, first_attempt=True)  # approved three hours later: MSAL renews
        assert grant.call_count == 2
        used = [c.request.headers["Authorization"] for c in create.calls]
        assert used == [f"Bearer {graph_token(1)}", f"Bearer {graph_token(1)}", f"Bearer {graph_token(2)}"]
    with (
        responses.RequestsMock() as mock
    ):  # revoked early: Graph answers 401, one new token, the POST once more
        mock.add_callback(
            responses.POST,
            f"{LOGIN}/oauth2/v2.0/token",
            callback=lambda request: (
                200,
                {},
                json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": next(tokens)}),
            ),
        )
        mock.post(
            f"{GRAPH}/users/{DRAFT.mailbox}/messages",
            status=401,
            json={"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}},
        )
        mock.post(f"{GRAPH}/users/{DRAFT.mailbox}/messages", status=201, json={"id": "AAMk", "isDraft": True})
        assert store.place(DRAFT, first_attempt=True)[0] is True
        assert mock.calls[-1].request.headers["Authorization"] == f"Bearer {graph_token(3)}"


def test_graph_refused_credentials_are_one_clear_error_without_the_secret():
    with responses.RequestsMock() as mock:
        openid_configuration(mock)
        mock.post(
            f"{LOGIN}/oauth2/v2.0/token",
            status=401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215],
            },
        )
        with pytest.raises(AuthenticationError) as err:
            GraphDrafts(ClientCredentials(TENANT, CLIENT_ID, secret=CLIENT_SECRET)).place(
                DRAFT, first_attempt=True
            )
    assert "invalid_client" in str(err.value) and "AADSTS7000215" in str(err.value)
    assert CLIENT_SECRET not in str(err.value)


def test_a_fixed_token_refused_twice_is_an_authentication_error():
    with responses.RequestsMock() as mock:
        mock.post(
            f"{GRAPH}/users/{DRAFT.mailbox}/messages",
            status=401,
            json={"error": {"code": "InvalidAuthenticationToken", "message": f"expired {TOKEN}"}},
        )
        with pytest.raises(AuthenticationError) as err:
            GraphDrafts(TOKEN).place(DRAFT, first_attempt=True)
        assert len(mock.calls) == 2  # renewed once (a fixed token cannot change), then reported
    assert TOKEN not in str(err.value)
