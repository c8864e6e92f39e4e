"""Microsoft Graph and Gmail draft stores: created once per key, never sent, token never leaked."""
from __future__ import annotations

import base64
import email
import json
from email.policy import default

import pytest
import responses
from responses import matchers

from connectors.drafts import Draft, EmlDrafts, message_id
from connectors.errors import PermissionDenied
from connectors.gmail_drafts import GmailDrafts
from connectors.graph_drafts import KEY_PROPERTY, GraphDrafts

TOKEN = "eyJ0eXAiOi-canary-token"
SECRET = bytes(range(32))  # the installation's draft id secret (flows.registry.draft_id_secret)
GRAPH = "https://graph.microsoft.com/v1.0"
GMAIL = "https://gmail.googleapis.com/gmail/v1"

DRAFT = Draft(key="1001:notice:C005:j.o'connor@seaview.example", mailbox="nuria.castells@acme.example",
              sender_name="Nuria Castells", to_name="James O'Connor", to_email="j.o'connor@seaview.example",
              subject="Acme: Nuria is your new point of contact", text="Dear James,\n\nHello.\n",
              html="<p>Dear James,</p>", language="en", group="C005")


def test_graph_creates_a_draft_with_the_key_property_when_none_exists():
    with responses.RequestsMock() as mock:
        search = mock.get(f"{GRAPH}/users/nuria.castells@acme.example/messages",
                          json={"@odata.context": "...", "value": []})
        create = mock.post(f"{GRAPH}/users/nuria.castells@acme.example/messages", status=201,
                           json={"id": "AAMkAGI2TG93AAA=", "isDraft": True, "subject": DRAFT.subject,
                                 "webLink": "https://outlook.office365.com/owa/?ItemID=AAMkAGI2TG93AAA%3D"})
        created, where = GraphDrafts(TOKEN).place(DRAFT)
    assert created and "nuria.castells@acme.example" in where
    query = search.calls[0].request.params["$filter"]
    assert f"ep/id eq '{KEY_PROPERTY}'" in query
    assert "ep/value eq '1001:notice:C005:j.o''connor@seaview.example'" in query  # apostrophe escaped
    body = json.loads(create.calls[0].request.body)
    assert body["singleValueExtendedProperties"] == [{"id": KEY_PROPERTY, "value": DRAFT.key},
                                                     {"id": "Integer 0x3FF1", "value": "9"}]  # en: Content-Language
    assert "internetMessageHeaders" not in body  # x- headers set at creation are sent with the message
    assert DRAFT.key not in json.dumps({k: v for k, v in body.items() if k != "singleValueExtendedProperties"})
    assert body["toRecipients"][0]["emailAddress"]["address"] == DRAFT.to_email
    assert body["body"] == {"contentType": "HTML", "content": DRAFT.html}
    assert all("/send" not in c.request.url for c in mock.calls)


def test_graph_skips_a_key_already_in_the_mailbox():
    with responses.RequestsMock() as mock:
        mock.get(f"{GRAPH}/users/nuria.castells@acme.example/messages",
                 json={"value": [{"id": "AAMkAGI2TG93AAA=", "isDraft": True}]})
        created, _ = GraphDrafts(TOKEN).place(DRAFT)
    assert not created  # RequestsMock fails on any unexpected POST


def test_graph_permission_error_is_typed_and_token_free():
    with responses.RequestsMock() as mock:
        mock.get(f"{GRAPH}/users/nuria.castells@acme.example/messages", status=403,
                 json={"error": {"code": "ErrorAccessDenied", "message": f"Access is denied ({TOKEN})."}})
        with pytest.raises(PermissionDenied) as err:
            GraphDrafts(TOKEN).place(DRAFT)
    assert TOKEN not in str(err.value)


def test_gmail_creates_a_raw_rfc2822_draft_with_a_stable_message_id():
    with responses.RequestsMock() as mock:
        listing = mock.get(f"{GMAIL}/users/nuria.castells@acme.example/drafts",
                           match=[matchers.query_param_matcher({"q": f"rfc822msgid:{message_id(DRAFT, SECRET)}",
                                                                "maxResults": "1"})],
                           json={"resultSizeEstimate": 0})
        create = mock.post(f"{GMAIL}/users/nuria.castells@acme.example/drafts",
                           match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})],
                           json={"id": "r-5417811374326513216",
                                 "message": {"id": "18c4f7e3a2b1", "threadId": "18c4f7e3a2b1", "labelIds": ["DRAFT"]}})
        created, where = GmailDrafts(TOKEN, id_secret=SECRET).place(DRAFT)
    assert created and listing.call_count == 1
    raw = base64.urlsafe_b64decode(json.loads(create.calls[0].request.body)["message"]["raw"])
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Message-ID"] == message_id(DRAFT, SECRET)
    assert parsed["X-Relevo-Key"] is None and b"1001" not in raw and b"relevo" not in raw.lower()
    assert parsed["To"].addresses[0].username == "j.o'connor"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == DRAFT.text  # SMTP line ends


def test_gmail_skips_a_draft_already_there():
    with responses.RequestsMock() as mock:
        mock.get(f"{GMAIL}/users/nuria.castells@acme.example/drafts",
                 json={"drafts": [{"id": "r-1", "message": {"id": "18c4", "threadId": "18c4"}}],
                       "resultSizeEstimate": 1})
        assert GmailDrafts(TOKEN, id_secret=SECRET).place(DRAFT)[0] is False


def test_message_id_is_stable_per_key_and_eml_grouped_per_client(tmp_path):
    assert message_id(DRAFT, SECRET) == message_id(DRAFT, SECRET)
    other = Draft(**{**DRAFT.__dict__, "key": "1001:notice:C005:olivia@seaview.example"})
    assert message_id(other, SECRET) != message_id(DRAFT, SECRET)
    assert message_id(DRAFT, bytes(32)) != message_id(DRAFT, SECRET)  # without the secret, not guessable
    created, where = EmlDrafts(tmp_path).place(DRAFT)
    assert created and where.startswith(str(tmp_path / "1001" / "C005"))
    assert EmlDrafts(tmp_path).place(DRAFT)[0] is False


@pytest.mark.parametrize("store, url", [(GraphDrafts, f"{GRAPH}/users/nuria.castells@acme.example/messages"),
                                        (GmailDrafts, f"{GMAIL}/users/nuria.castells@acme.example/drafts")])
def test_a_first_attempt_creates_without_looking_and_a_later_one_looks_first(store, url):
    """The ledger's first attempt cannot have a predecessor: one call. Any later attempt looks first."""
    with responses.RequestsMock() as mock:  # an unexpected GET fails the test
        create = mock.post(url, json={"id": "AAMkAGI2TG93AAA=", "message": {"id": "18c4"}})
        assert make(store).place(DRAFT, first_attempt=True)[0] is True
        assert len(mock.calls) == 1 and create.call_count == 1
    with responses.RequestsMock() as mock:
        look = mock.get(url, json={"value": [{"id": "AAMkAGI2TG93AAA="}],
                                   "drafts": [{"id": "r-1", "message": {"id": "18c4"}}]})
        assert make(store).place(DRAFT)[0] is False
        assert len(mock.calls) == 1 and look.call_count == 1


def make(store: type) -> GraphDrafts | GmailDrafts:
    return GmailDrafts(TOKEN, id_secret=SECRET) if store is GmailDrafts else GraphDrafts(TOKEN)
