"""connectors/hibob.py: the employee record from people search, the report upload, the v2 webhooks.

Every request the connector sends to people/search and every mocked answer is checked against
the documented shapes transcribed in hibob_contract.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from relevo import schemas
from relevo.connectors import errors
from relevo.connectors.hibob import HiBob, is_ping, parse_webhook
from relevo.model import ConfigurationError
from tests.connectors.hibob_contract import TABLE_ENTRY_EXAMPLE, WEBHOOK, check, lifecycle
from tests.support.hibob_fake import BASE, BOSS, BOSS_RECORD, LEAVER, TOKEN, USER, Bob, record

TODAY = date(2026, 11, 26)
HEIR = "3332883811112222333"


HEIR_RECORD = {
    "id": HEIR,
    "displayName": "Jordi Puig",
    "firstName": "Jordi",
    "surname": "Puig",
    "email": "jordi.puig@acme-comunicacion.example",
    "work": {"title": "Account Manager"},
}


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


def serve(api, bob: Bob) -> Bob:
    auth = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    api.add_callback(
        responses.POST,
        f"{BASE}/people/search",
        callback=bob,
        match=[matchers.header_matcher({"Authorization": auth})],
    )
    return bob


def connector(**kwargs) -> HiBob:
    options = {"default_language": "es", "today": lambda: TODAY, "sleep": lambda _s: None}
    options.update(kwargs)
    return HiBob(USER, TOKEN, **options)


# --- the record ---


def test_dismissed_employee_with_manager_reads_in_two_searches(api):
    bob = serve(api, Bob(record(), BOSS_RECORD))

    employee = schemas.check("employee", connector().employee(LEAVER), "HiBob leaver")

    assert employee == {
        "id": LEAVER,
        "name": "Laura Martínez",
        "email": "laura.martinez@acme-comunicacion.example",
        "phone": None,
        "language": "es",
        "department": "Cuentas",
        "job_title": "Account Manager",
        "status": "terminated",
        "termination": {
            "type": "involuntary",
            "date": "2026-11-19",
            "reason": "Reestructuración",
            "vendor_type": "Dismissal",
        },
        "manager": {
            "id": BOSS,
            "name": "Marta Soler",
            "email": "marta.soler@acme-comunicacion.example",
            "phone": None,
            "job_title": "Directora de Cuentas",
        },
        "successor": None,
        "restrictions": {"no_client_contact": False, "non_solicitation_until": None},
    }
    assert [b["filters"][0]["values"] for b in bob.bodies] == [[LEAVER], [BOSS]]
    assert "employee.lastDayOfWork" in bob.bodies[0]["fields"]


def test_last_working_day_falls_back_to_the_termination_date_and_a_future_one_is_terminating(api):
    leaver = record(terminationDate="2026-12-31")
    leaver["employee"] = {"lastDayOfWork": None}
    serve(api, Bob(leaver, BOSS_RECORD))

    employee = connector().employee(LEAVER)

    assert employee["termination"]["date"] == "2026-12-31"
    assert employee["status"] == "terminating"


def test_an_active_employee_has_no_termination(api):
    active = record(
        status="Active",
        lifecycleStatus="employed",
        terminationDate=None,
        terminationType=None,
        terminationReason=None,
    )
    active["employee"] = {}
    active["humanReadable"] = {}
    serve(api, Bob(active, BOSS_RECORD))

    employee = connector().employee(LEAVER)

    assert (employee["status"], employee["termination"]) == ("active", None)


def test_garden_leave_without_a_date_is_a_termination_of_unknown_date(api):
    leaver = record(lifecycleStatus="garden leave", terminationDate=None, terminationType=None)
    leaver["employee"] = {}
    leaver["humanReadable"] = {}
    serve(api, Bob(leaver, BOSS_RECORD))

    termination = connector().employee(LEAVER)["termination"]

    assert termination == {"type": "unknown", "date": None, "reason": "2451", "vendor_type": None}


def test_the_company_names_its_own_termination_types(api):
    leaver = record()
    leaver["humanReadable"]["internal"]["terminationType"] = "Baja pactada"
    serve(api, Bob(leaver, BOSS_RECORD))

    employee = connector(termination_types={"baja pactada": "voluntary"}).employee(LEAVER)

    assert employee["termination"]["type"] == "voluntary"


def test_custom_fields_give_successor_language_and_restrictions(api):
    leaver = record()
    leaver["custom"] = {
        "offboarding": {
            "successor": {"id": HEIR},
            "language": "ca",
            "noContact": "Yes",
            "nonSolicitUntil": "2027-05-31",
        }
    }
    bob = serve(api, Bob(leaver, BOSS_RECORD, HEIR_RECORD))
    fields = {
        "successor_field": "custom.offboarding.successor",
        "language_field": "custom.offboarding.language",
        "restriction_fields": {
            "no_client_contact": "custom.offboarding.noContact",
            "non_solicitation_until": "custom.offboarding.nonSolicitUntil",
        },
    }

    employee = schemas.check("employee", connector(**fields).employee(LEAVER), "HiBob leaver")

    assert employee["successor"]["name"] == "Jordi Puig"
    assert employee["language"] == "ca"
    assert employee["restrictions"] == {"no_client_contact": True, "non_solicitation_until": "2027-05-31"}
    assert "custom.offboarding.successor" in bob.bodies[0]["fields"]
    assert sorted(bob.bodies[1]["filters"][0]["values"]) == sorted([BOSS, HEIR])


def test_a_layoff_reads_the_leavers_a_hundred_per_search_and_their_managers_once(api):
    others = [record(str(4000 + n)) for n in range(150)]
    bob = serve(api, Bob(*others, BOSS_RECORD))

    found = connector().employees([r["id"] for r in others] + ["4999"])

    assert [len(b["filters"][0]["values"]) for b in bob.bodies] == [100, 51, 1]
    assert all(isinstance(found[r["id"]], dict) for r in others)
    assert isinstance(found["4999"], errors.NotFound)


def test_a_manager_read_for_a_report_is_read_in_full_when_asked_for_as_an_employee(api):
    """The manager's name was read for the leaver's record; asked for next (a second leaver, an approval's
    successor check), their own termination must come from a full read, not from that partial record."""
    boss = {
        **BOSS_RECORD,
        "internal": {"status": "Inactive", "lifecycleStatus": "terminated", "terminationDate": "2026-11-24"},
    }
    serve(api, Bob(record(), boss))
    hr = connector()
    assert hr.employee(LEAVER)["manager"]["id"] == BOSS

    assert hr.employee(BOSS)["status"] == "terminated"


def test_every_read_of_an_employee_is_fresh(api):
    """A run reads HR again before it acts on a withdrawal: a cached record would hide the withdrawal."""
    bob = serve(api, Bob(record(), BOSS_RECORD))
    hr = connector()
    assert hr.employee(LEAVER)["status"] == "terminated"
    bob.records[LEAVER] = record(
        terminationDate=None, lifecycleStatus="employed", status="Active", terminationType=None
    )
    bob.records[LEAVER]["employee"] = {}
    bob.records[LEAVER]["humanReadable"] = {}

    assert hr.employee(LEAVER)["status"] == "active"


def test_an_unknown_or_impossible_id_is_not_found(api):
    serve(api, Bob(BOSS_RECORD))

    with pytest.raises(errors.NotFound, match="not found in HiBob"):
        connector().employee("4999")
    with pytest.raises(errors.NotFound):
        connector().employee("../../people")


# --- hostile answers: one clear error naming the field, never a traceback or a wrong "active" ---


@pytest.mark.parametrize(
    "field, bad",
    [("terminationDate", "31/12/2026"), ("terminationDate", {"date": "x"}), ("terminationDate", True)],
)
def test_a_date_that_is_not_one_names_the_field(api, field, bad):
    serve(api, Bob(record(**{field: bad}), BOSS_RECORD))

    with pytest.raises(errors.InvalidResponse, match=f"internal.{field}"):
        connector().employee(LEAVER)


@pytest.mark.parametrize(
    "bad", ["a@x.example, b@y.example", "Laura <l@x.example>\r\nBcc: e@evil.example", ["l@x.example"]]
)
def test_a_work_email_that_is_not_one_address_stops_that_employee(api, bad):
    leaver = record()
    leaver["email"] = bad
    serve(api, Bob(leaver, BOSS_RECORD))

    with pytest.raises(errors.ConnectorError, match=f"HiBob employee {LEAVER}"):
        connector().employee(LEAVER)


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>maintenance</html>",
        b'{"employees": {"id": "1"}}',
        b"[]",
        b'{"employees": [{"id": "../x"}]}',
        b'{"employees": [{"name": "no id"}]}',
    ],
)
def test_an_answer_of_the_wrong_shape_is_an_invalid_response(api, answer):
    api.post(f"{BASE}/people/search", body=answer, content_type="application/json")

    with pytest.raises(errors.InvalidResponse, match="people/search"):
        connector().employee(LEAVER)


def test_a_throttled_search_is_retried_after_retry_after_and_the_token_never_appears(api):
    waits: list[float] = []
    with responses.RequestsMock(registry=OrderedRegistry) as ordered:
        ordered.post(f"{BASE}/people/search", status=429, headers={"Retry-After": "2"})
        ordered.post(f"{BASE}/people/search", json={"employees": [record()]})
        ordered.post(f"{BASE}/people/search", json={"employees": [BOSS_RECORD]})
        assert connector(sleep=waits.append).employee(LEAVER)["manager"]["id"] == BOSS
    assert waits == [2.0]

    api.post(f"{BASE}/people/search", status=401, body=f"bad credentials {TOKEN}")
    with pytest.raises(errors.ConnectorError) as caught:
        connector().employee(LEAVER)
    assert TOKEN not in str(caught.value)


# --- reconciliation ---


def test_changed_since_picks_recent_and_future_terminations_from_one_search(api):
    old = record("5001", terminationDate="2026-06-30")
    old["employee"] = {}
    backdated = record("5002", terminationDate="2026-11-05")
    backdated["employee"] = {}
    future = record("5003", terminationDate="2027-01-31")
    future["employee"] = {}
    active = record("5004", terminationDate=None, lifecycleStatus="employed")
    active["employee"] = {}
    bob = serve(api, Bob(old, backdated, future, active, BOSS_RECORD))
    hr = connector(now=lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

    changed, cursor = hr.changed_since("2026-11-26T09:45:00+00:00")
    found = hr.employees(changed)

    assert sorted(changed) == ["5002", "5003"]
    assert cursor == "2026-11-26T10:00:00+00:00"
    assert [found[i]["status"] for i in sorted(changed)] == ["terminated", "terminating"]
    assert len(bob.bodies) == 1  # leavers and their managers all came from the one search of everyone


def test_changed_since_refuses_a_since_that_is_not_a_time(api):
    with pytest.raises(ConfigurationError, match="not an ISO 8601"):
        connector().changed_since("yesterday")


# --- the outcome report ---


def test_the_report_is_uploaded_to_the_registry_folder(api):
    upload = api.post(f"{BASE}/docs/people/{LEAVER}/folders/77/upload", json={"id": 991})

    where = connector(document_folder="77").write_note(
        LEAVER, "relevo: offboarding", "all removed", Path("/unused")
    )

    sent = upload.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="relevo-offboarding-' + LEAVER.encode() + b'.txt"' in sent.body
    assert b"all removed" in sent.body
    assert "folder 77" in where


def test_the_report_without_a_folder_or_to_a_missing_one_is_a_clear_error(api):
    with pytest.raises(ConfigurationError, match="document_folder"):
        connector().write_note(LEAVER, "t", "x", Path("/unused"))
    api.post(f"{BASE}/docs/people/{LEAVER}/folders/77/upload", status=404)
    with pytest.raises(errors.NotFound, match="folder 77"):
        connector(document_folder="77").write_note(LEAVER, "t", "x", Path("/unused"))


def test_doctor_names_the_fields_the_service_user_never_sees(api):
    hidden = record()
    del hidden["internal"]["terminationDate"]
    serve(api, Bob(hidden, BOSS_RECORD))

    findings = connector().check()

    assert [f.level for f in findings] == ["ok", "warning"]
    assert "internal.terminationDate" in findings[1].text


# --- webhooks ---


@pytest.mark.parametrize(
    "kind, change", [("employee.left", "terminated"), ("employee.activated", "rescinded")]
)
def test_lifecycle_events(kind, change):
    payload = check(WEBHOOK, lifecycle(kind))

    [found] = parse_webhook(payload)

    assert (found.employee_id, found.kind) == ("3332883854254932743", change)
    assert parse_webhook(json.loads(json.dumps(payload))) == [found]  # a redelivery: the same key


def test_a_lifecycle_entry_entered_for_later_is_a_status_change_and_other_tables_are_ignored():
    [found] = parse_webhook(check(WEBHOOK, TABLE_ENTRY_EXAMPLE))
    assert found.kind == "status_changed"
    other = {**TABLE_ENTRY_EXAMPLE, "data": {**TABLE_ENTRY_EXAMPLE["data"], "tableId": "work"}}
    assert parse_webhook(check(WEBHOOK, other)) == []
    assert parse_webhook(check(WEBHOOK, lifecycle("employee.joined"))) == []
    # sent with employee.left for every termination: stored too, it would start a second run
    assert parse_webhook(check(WEBHOOK, lifecycle("employee.inactivated"))) == []
    assert (
        parse_webhook(
            check(WEBHOOK, {**lifecycle("employee.updated"), "data": {"employeeId": "1", "fieldIds": []}})
        )
        == []
    )


@pytest.mark.parametrize(
    "payload, words",
    [
        ([], "not a JSON object"),
        ({"data": {"employeeId": "1"}}, "type is missing"),
        ({"type": "employee.left", "data": "1"}, "data is not an object"),
        ({"type": "employee.left", "data": {}}, "data.employeeId is missing"),
        ({"type": "employee.left", "data": {"employeeId": True}}, "data.employeeId is missing"),
        ({"type": "employee.left", "data": {"employeeId": "../../x"}}, "not an employee id"),
        ({"type": "employee.left", "data": {"employeeId": "1"}, "triggeredAt": 5}, "triggeredAt"),
    ],
)
def test_a_webhook_of_the_wrong_shape_names_the_field(payload, words):
    with pytest.raises(ValueError, match=words):
        parse_webhook(payload)


def test_bob_connection_test_is_recognised():
    assert is_ping(b"Ping test") and is_ping(b'"Ping test"') and is_ping(b'{"text": "Ping test"}')
    assert not is_ping(json.dumps(lifecycle("employee.left")).encode())
    assert not is_ping(b"\xff\xfe")


# --- any JSON at all: the parser says ValueError or gives inbox events; the reader says ConnectorError ---


def _hibob_fuzz_strategies():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
        max_leaves=12,
    )
    kinds = st.sampled_from(
        [
            "employee.left",
            "employee.activated",
            "employee.inactivated",
            "table.entry.created",
            "table.entry.updated",
            "employee.updated",
        ]
    ) | st.text(max_size=15)
    ids = st.from_regex(r"[0-9]{1,19}", fullmatch=True) | values
    envelopes = st.fixed_dictionaries(
        {
            "companyId": st.integers() | values,
            "type": kinds | values,
            "triggeredBy": st.text(max_size=20) | values,
            "triggeredAt": st.text(max_size=30) | values,
            "version": st.just("v2") | values,
            "data": st.fixed_dictionaries(
                {"employeeId": ids},
                optional={"tableId": st.just("lifecycle") | values, "effectiveDate": values},
            )
            | values,
        }
    )
    return envelopes | values, values


def test_any_payload_gives_a_value_error_or_events_the_inbox_accepts():
    from hypothesis import given, settings

    from relevo.storage.inbox import Inbox

    payloads, _ = _hibob_fuzz_strategies()

    @settings(max_examples=300, deadline=None, database=None)
    @given(payload=payloads)
    def prop(payload):  # type: ignore[no-untyped-def]
        try:
            changes = parse_webhook(payload)
        except ValueError as exc:
            assert str(exc).startswith("HiBob webhook")
            return
        for change in changes:
            Inbox.event(
                "hibob",
                change.employee_id,
                change.kind,
                change.change_fingerprint,
                datetime(2026, 11, 27, tzinfo=UTC),
            )  # raises if it does not fit the schema

    prop()


def test_any_record_gives_an_employee_or_a_connector_error():
    """Whatever Bob's answer holds in the fields relevo reads: a valid employee or one typed error."""
    from hypothesis import given, settings

    _, values = _hibob_fuzz_strategies()

    @settings(max_examples=200, deadline=None, database=None)
    @given(internal=values, employee=values, email=values, reports=values, readable=values)
    def prop(internal, employee, email, reports, readable):  # type: ignore[no-untyped-def]
        leaver = {
            **record(),
            "internal": internal,
            "employee": employee,
            "email": email,
            "work": {"reportsTo": reports},
            "humanReadable": readable,
        }
        with responses.RequestsMock() as mock:
            mock.add_callback(responses.POST, f"{BASE}/people/search", callback=Bob(leaver, BOSS_RECORD))
            try:
                employee_record = connector().employee(LEAVER)
            except errors.ConnectorError:
                return
        schemas.check("employee", employee_record, "fuzzed HiBob record")

    prop()
