"""The real offboarding flow with BambooHR as the HR platform (its API mocked with `responses`).

The example company is switched to `hr: {connector: bamboohr, ...}`; the flow reads the
leaver, the manager and the successor from BambooHR and files its report back as an
employee file. Every BambooHR request is validated against the official OpenAPI spec.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from tests.support.bamboohr_api import BASE, employee_fields, person_fields, status_row
from tests.support.bamboohr_spec import load_spec, multipart_fields, validate_against_spec
from tests.support.canaries import BAMBOOHR_KEY as CANARY


@pytest.fixture
def bamboo_acme(acme: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAMBOOHR_API_KEY", CANARY)
    text, count = re.subn(
        r"(?m)^hr: .*$",
        "hr: {connector: bamboohr, company_domain: acme, note_category: 17, "
        "api_key: {env: BAMBOOHR_API_KEY}, successor_field: customSuccessorEId}",
        acme.read_text("utf-8"),
    )
    assert count == 1
    acme.write_text(text, "utf-8")
    return acme


def test_offboarding_reads_the_leaver_from_bamboohr_and_files_the_report(prefect_api_url, bamboo_acme):
    from relevo.offboarding import offboard_employee

    fields = "firstName,lastName,displayName,workEmail,workPhone,mobilePhone,jobTitle"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as api:
        api.add_passthru(re.compile(r"^http://(127\.0\.0\.1|localhost)"))
        api.get(
            f"{BASE}/employees/1001",
            json=employee_fields(
                supervisorEId="1010", customSuccessorEId="1005", terminationDate="2026-11-20"
            ),
            match=[
                responses.matchers.query_param_matcher(
                    {
                        "fields": fields + ",department,supervisorEId,status,"
                        "employmentHistoryStatus,terminationDate,customSuccessorEId"
                    }
                )
            ],
        )
        api.get(
            f"{BASE}/employees/1001/tables/employmentStatus",
            json=[
                status_row("1", "2021-03-01", "Full-Time"),
                status_row("2", "2026-11-20", "Terminated", "Despido"),
            ],
        )
        api.get(f"{BASE}/employees/1001/tables/jobInfo", json=[])
        api.get(
            f"{BASE}/employees/1010",
            match=[responses.matchers.query_param_matcher({"fields": fields})],
            json=person_fields(
                "1010",
                "Javier",
                "Soler Roig",
                "javier.soler@acme-comunicacion.example",
                "Director de cuentas",
            ),
        )
        api.get(
            f"{BASE}/employees/1005",
            match=[responses.matchers.query_param_matcher({"fields": fields})],
            json=person_fields(
                "1005",
                "Nuria",
                "Castells Vidal",
                "nuria.castells@acme-comunicacion.example",
                "Directora de cuentas adjunta",
            ),
        )
        api.post(
            f"{BASE}/employees/1001/files",
            status=201,
            headers={"Location": f"{BASE}/employees/1001/files/88"},
        )

        result = offboard_employee("1001", str(bamboo_acme), wait_for_approval=False)
        summary = result if isinstance(result, dict) else result.result()
        calls = list(api.calls)

    spec = load_spec()
    for call in calls:
        validate_against_spec(spec, call.request)
    assert summary["employee_name"] == "Laura Martínez Ferrer"
    (note,) = [r for r in summary["rows"] if r["action"] == "hr_note"]
    assert note["outcome"] == "done" and f"{BASE}/employees/1001/files/88" in note["detail"]
    upload = next(c.request for c in calls if c.request.method == "POST")
    parts = multipart_fields(upload)
    assert parts["category"] == "17" and parts["share"] == "no" and "Laura" in parts["file"]
    assert "Nuria" in str(summary["rows"])  # the successor from BambooHR is the one introduced
    assert CANARY not in str(summary)
