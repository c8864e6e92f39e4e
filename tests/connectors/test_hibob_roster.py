"""HiBob's roster for the sweep: active employees from one people/search, checked against Bob's contract."""

from __future__ import annotations

import json

import responses

from relevo.connectors.hibob import HiBob
from tests.connectors import hibob_contract as contract

BASE = "https://api.hibob.com/v1"


def test_roster_lists_active_employees_from_one_search() -> None:
    """Bob answers showInactive false with active employees only (its default), all in one array; a leaver
    is left out by Bob, so relevo must not ask for inactive people here, and reads id and work e-mail."""
    # root fields are top-level keys of each employee in Bob's answer (reference/post_people-search example)
    active = [
        {"id": "3332883884017713238", "email": "ana@acme.example"},
        {"id": "3332883884017713239", "email": " Luis@Acme.example "},
        {"id": "3332883884017713240"},
    ]  # the service user may not read e-mails: Bob leaves the field out
    sent: list[dict] = []

    def answer(request):  # type: ignore[no-untyped-def]
        body = contract.check(contract.SEARCH_REQUEST, json.loads(request.body))
        sent.append(body)
        return 200, {}, json.dumps(contract.check(contract.SEARCH_ANSWER, {"employees": active}))

    with responses.RequestsMock() as api:
        api.add_callback(
            responses.POST, f"{BASE}/people/search", callback=answer, content_type="application/json"
        )
        roster = HiBob("SERVICE-USER", "token-canary-roster", default_language="en").roster()
    assert [body["showInactive"] for body in sent] == [False] and "filters" not in sent[0]
    assert set(sent[0]["fields"]) == {"root.id", "root.email"}
    assert roster == [
        {"id": "3332883884017713238", "email": "ana@acme.example"},
        {"id": "3332883884017713239", "email": "Luis@Acme.example"},
        {"id": "3332883884017713240", "email": None},
    ]
