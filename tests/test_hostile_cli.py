"""The hostile-data suite (issue 11): the example company with each value the issue reproduced planted in
its HR, CRM and registry data, run through the real `relevo` command against a real Prefect server.

Afterwards: no .eml has a header the data put there, no file lies outside its folder, no traceback, and
the exit codes are the README's (3: the run finished with actions for a person; 2: bad input, one line).
"""

from __future__ import annotations

import email
import json
from email.policy import default
from pathlib import Path

import pytest

from tests.support.cli import audit_rows, relevo

ATTACKER = "attacker@evil.example"
MARKUP = (
    "Seaview [/] Hotels [bold red]Ltd"  # crashed `relevo offboard`, `audit` and `tasks` (Rich MarkupError)
)
LINK = "[Pay here](https://evil.example/pay)"  # was a live link in the summary artifact
LONG_QUOTED = (
    '"' + "A" * 80 + f'" <{ATTACKER}>'
)  # made To (a contact) and From (the successor) the attacker's
LEGIT_RECIPIENTS = {
    "rosa.beltran@miradoraltea.example",
    "reservas@miradoraltea.example",
    "olivia.hartley@seaviewhotels.example",
    "j.oconnor@seaviewhotels.example",
    "siobhan@kilbeggancoast.example",
    "dotdot@client.example",
}
ALLOWED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "x-unsent",
    "message-id",
    "mime-version",
    "content-type",
    "content-language",
}


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")


def plant(root: Path) -> None:
    """Every hostile value at once, in HR (hr.json), CRM (clients.json) and registry (relevo.yaml) data."""

    def hr(data: dict) -> None:
        people = {r["id"]: r for r in data["employees"]}
        people["1005"]["first_name"] = LONG_QUOTED  # the successor: From
        people["1005"]["last_name"] = "Castells [/] Vidal"
        leaver = dict(people["1001"], successor_id="1006")
        data["employees"] += [dict(leaver, id=".."), dict(leaver, id="../../X")]

    def crm(data: dict) -> None:
        clients = {c["id"]: c for c in data["clients"]}
        clients["C001"]["contacts"][0]["name"] = LONG_QUOTED  # To
        clients["C002"]["contacts"][0]["email"] = f"amparo@requenaalta.example\r\nBcc: {ATTACKER}"
        clients["C003"]["contacts"][0]["email"] = f'"Boss" <{ATTACKER}>'
        clients["C004"]["contacts"][0]["email"] = f"direccion@dentalruzafa.example, {ATTACKER}"
        clients["C005"]["company"] = MARKUP
        clients["C006"]["company"] = LINK
        data["clients"].append(
            {
                "id": "..",
                "company": "Dot Dot S.L.",
                "owner_id": "..",
                "language": "es",
                "country": "ES",
                "contacts": [{"name": "Dora", "email": "dotdot@client.example"}],
            }
        )

    edit(root / "hr.json", hr)
    edit(root / "clients.json", crm)
    registry = root / "relevo.yaml"
    registry.write_text(
        registry.read_text("utf-8").replace(
            'account: "@acme_comunica (X)"', 'account: "@acme_comunica [/] (X) [link=https://evil.example]"'
        ),
        "utf-8",
    )


def files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def check_eml(path: Path) -> str:
    """The draft's one recipient, after checking no header came from data."""
    raw = path.read_bytes()
    message = email.message_from_bytes(raw, policy=default)
    names = {
        line.split(b":", 1)[0].decode().lower()
        for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if line and line[:1] not in b" \t"
    }
    assert names == ALLOWED_HEADERS, path
    assert [a.addr_spec for a in message["From"].addresses] == [
        "nuria.castells@acme-comunicacion.example"
    ] or [a.addr_spec for a in message["From"].addresses] == ["pablo.ferrando@acme-comunicacion.example"]
    (to,) = message["To"].addresses
    assert ATTACKER.encode() not in raw.split(b"\r\n\r\n", 1)[0]
    return to.addr_spec


def test_hostile_hr_crm_and_registry_data_in_one_company(prefect_api_url, acme):
    root = acme.parent
    plant(root)
    before = files(root)

    run = relevo("offboard", "1001", "--registry", str(acme), api_url=prefect_api_url)
    output = run.stdout + run.stderr
    assert run.returncode == 3, (
        output
    )  # finished; manual tasks, failed clients and approvals wait for a person
    assert "Traceback" not in output and MARKUP in output and "[/] (X)" in output

    # the clients whose e-mail is not one address: one failed row each, naming the record and the field
    rows = audit_rows(acme, "--employee", "1001")
    failed = {r["action_key"]: r["detail"] for r in rows if r["outcome"] == "failed"}
    assert set(failed) == {"1001:notice:C002:record", "1001:notice:C003:record", "1001:notice:C004:record"}
    for client, detail in zip(("C002", "C003", "C004"), sorted(failed.values()), strict=True):
        assert f"client {client}: contacts[0].email" in detail and ATTACKER not in detail
    # the others go on: a review copy per contact, every one to its real recipient only
    drafts = sorted((root / "out" / "drafts").rglob("*.eml"))
    assert {check_eml(p) for p in drafts} == LEGIT_RECIPIENTS - {"dotdot@client.example"}
    note = (root / "out" / "hr-notes" / "1001.md").read_text("utf-8")  # the run ended: the HR note is there
    assert "](" not in note and "\\[Pay here\\]" in note

    for command in ("tasks", "audit"):
        shown = relevo(command, "--registry", str(acme))
        assert shown.returncode == 0 and "Traceback" not in shown.stdout + shown.stderr, shown.stderr
        assert MARKUP in shown.stdout and "[/] (X) [link=https://evil.example]" in shown.stdout

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        summaries = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["offboarding-1001"]))
        )
    ours = [a.data for a in summaries if "Pay here" in str(a.data)]
    assert ours and all("[Pay here](" not in text and "\\[Pay here\\]" in text for text in ours)
    new = files(root) - before
    assert new and all(p.parts[0] == "out" for p in new), sorted(
        new
    )  # nothing written outside the output folder


@pytest.mark.slow  # two more Prefect runs (about a minute on a loaded 2-core VM); the unit tests cover the parts
def test_hostile_ids_and_the_approval_of_hostile_drafts(prefect_api_url, acme):
    root = acme.parent
    plant(root)
    before = files(root)
    run = relevo("offboard", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert run.returncode == 3 and "Traceback" not in run.stdout + run.stderr, run.stdout + run.stderr
    # ids `..` and `../../X`: their drafts and HR notes stay in their folders
    batch = relevo("layoff", "..", "../../X", "--registry", str(acme), api_url=prefect_api_url)
    assert batch.returncode == 3 and "Traceback" not in batch.stdout + batch.stderr, (
        batch.stdout + batch.stderr
    )
    approve = relevo("approve", "1001", "--registry", str(acme), "--by", "Elena", api_url=prefect_api_url)
    assert approve.returncode in (0, 3) and "Traceback" not in approve.stdout + approve.stderr, approve.stderr

    new = files(root) - before
    out = Path("out")
    assert new and all(p.parts[0] == "out" for p in new), sorted(
        new
    )  # nothing written outside the output folder
    assert not any(p.is_symlink() for p in (root / "out").rglob("*"))
    assert all(".." not in p.parts for p in new)
    notes = sorted(p.name for p in (root / out / "hr-notes").iterdir())
    assert (
        len(notes) == 3
        and "1001.md" in notes
        and all(n.endswith(".md") and not n.startswith(".") for n in notes)
    )
    all_drafts = sorted((root / "out" / "drafts").rglob("*.eml"))
    assert {check_eml(p) for p in all_drafts} == LEGIT_RECIPIENTS
    handover = (root / "out" / "crm-reassignments.csv").read_text("utf-8")
    assert (
        "C002" not in handover and "C003" not in handover and "C004" not in handover
    )  # they keep their owner


@pytest.mark.parametrize(
    "value",
    [
        f"nuria.castells@acme-comunicacion.example\r\nBcc: {ATTACKER}",
        f'"Boss" <{ATTACKER}>',
        f"nuria.castells@acme-comunicacion.example, {ATTACKER}",
    ],
)
def test_a_successor_whose_email_is_not_one_address_stops_the_cli_before_anything_is_done(acme, value):
    def change(data: dict) -> None:
        next(r for r in data["employees"] if r["id"] == "1005")["work_email"] = value

    edit(acme.parent / "hr.json", change)
    run = relevo("offboard", "1001", "--registry", str(acme))  # no Prefect: refused before it starts
    assert run.returncode == 2 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert "employee 1005: work e-mail" in line and ATTACKER not in line
    assert not (acme.parent / "out").exists()


def test_a_registry_address_that_is_not_one_address_exits_2_naming_the_field(acme):
    text = acme.read_text("utf-8").replace(
        "email: cuentas@acme-comunicacion.example", f"email: '\"Boss\"<{ATTACKER}>'"
    )  # passes the schema's pattern
    acme.write_text(text, "utf-8")
    run = relevo("offboard", "1001", "--registry", str(acme))
    assert run.returncode == 2 and "company.contact.email" in run.stderr and len(run.stderr.splitlines()) == 1
