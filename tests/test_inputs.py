"""What an operator types, in the UI form and on the command line: every case gets one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relevo.rules.inputs import BadInput, employee_id, employee_ids


@pytest.mark.parametrize(
    "given, wanted",
    [("1001", "1001"), (" 1001\n", "1001"), ("\t1001 ", "1001"), ("a1b2-C3_d.e@x", "a1b2-C3_d.e@x")],
)
def test_an_id_is_trimmed(given, wanted):
    assert employee_id(given) == wanted


@pytest.mark.parametrize(
    "given, says",
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        ("10 01", "contains spaces"),
        ("1001\n1002", "contains spaces"),
        ("10\x0001", "control characters"),
        ("9" * 65, "longer than 64"),
        (None, "not text"),
    ],
)
def test_a_bad_id_is_one_line(given, says):
    with pytest.raises(BadInput) as caught:
        employee_id(given)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_ids_pasted_as_one_field():
    assert employee_ids("1001, 1002\n1003;1004 1005\r\n1001") == ["1001", "1002", "1003", "1004", "1005"]
    assert employee_ids(["1001", " 1002 ", "1003,1004"]) == ["1001", "1002", "1003", "1004"]
    for nothing in ("", " ,\n ", [], None):
        with pytest.raises(BadInput, match="no employee ids"):
            employee_ids(nothing)


def test_the_custom_run_form_shows_only_what_an_operator_sets():
    from prefect.utilities.callables import parameter_schema

    from relevo.layoff import offboard_batch
    from relevo.offboarding import offboard_employee

    schema = parameter_schema(offboard_employee).model_dump()
    # force / requested_by: an operator's explicit override of the HR check, recorded with who asked
    assert list(schema["properties"]) == [
        "employee_id",
        "registry_path",
        "dry_run",
        "revoke_now",
        "force",
        "requested_by",
    ]
    assert schema["required"] == ["employee_id"]
    assert schema["properties"]["employee_id"]["minLength"] == 1
    assert "RELEVO_REGISTRY" in schema["properties"]["registry_path"]["description"]  # found on the worker
    assert schema["properties"]["registry_path"]["default"] is None
    batch = parameter_schema(offboard_batch).model_dump()["properties"]["employee_ids"]
    assert batch["type"] == "string" and "commas" in batch["description"]
    # Prefect validates (and trims) what the form sends; internal parameters still reach the flow.
    assert (
        offboard_employee.validate_parameters({"employee_id": "1001\n", "event_key": "k"})["employee_id"]
        == "1001"
    )
    assert (
        offboard_batch.validate_parameters({"employee_ids": ["1001", "1002"]})["employee_ids"] == "1001, 1002"
    )
    from prefect.exceptions import ParameterTypeError

    for bad in ("", " \n", "10 01"):
        with pytest.raises(ParameterTypeError):
            offboard_employee.validate_parameters({"employee_id": bad})


def relevo(*args: str, cwd: Path | None = None, server: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if server:
        env["PREFECT_API_URL"] = server
    return subprocess.run(
        [sys.executable, "-m", "relevo.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "given, says",
    [
        ("", "the employee id is empty"),
        ("10 01", "contains spaces"),
        ("9999", "employee 9999 is not in hr.json"),
    ],
)
def test_cli_offboard_bad_id_is_one_line_exit_2(acme, given, says):
    result = relevo("offboard", given, "--registry", str(acme))
    assert result.returncode == 2 and says in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stdout + result.stderr


def test_cli_offboard_trims_the_id(acme):
    result = relevo("offboard", " 1003\n", "--registry", str(acme), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "offboarding employee 1003" in result.stdout


def test_copying_only_relevo_yaml_says_where_paths_are_relative_to(acme, tmp_path):
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    (alone / "relevo.yaml").write_text(acme.read_text("utf-8"), "utf-8")
    result = relevo("offboard", "1001", cwd=alone)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert (
        "hr.json: file not found" in result.stderr
        and "relative to the folder of relevo.yaml" in result.stderr
    )


def test_batch_of_unknown_or_no_ids_is_reported_not_crashed(prefect_api_url, acme):
    from relevo.layoff import offboard_batch

    state = offboard_batch(["9999"], registry_path=str(acme), dry_run=True, return_state=True)
    summary = state.result()
    assert state.name == "Needs a person" and "1 id(s) NOT offboarded" in state.message
    assert summary["people"][0]["status"] == "NOT OFFBOARDED" and "9999" in summary["people"][0]["problem"]
    empty = offboard_batch([], registry_path=str(acme), dry_run=True, return_state=True)
    # Refused by Prefect's parameter validation (the UI form refuses it before a run exists).
    assert empty.is_failed() and "employee_ids: String should have at least 1 character" in empty.message
    blank = offboard_batch(" ,\n", registry_path=str(acme), dry_run=True, return_state=True)
    assert (
        blank.is_failed()
        and blank.message == "no employee ids: give at least one (separated by commas or new lines)"
    )
    mixed = offboard_batch("1003,\n9999", registry_path=str(acme), dry_run=True, return_state=True).result()
    assert [p["employee_id"] for p in mixed["people"]] == ["1003", "9999"]
    assert mixed["people"][0]["status"] == "plan" and mixed["people"][1]["status"] == "NOT OFFBOARDED"


def test_cli_layoff_unknown_id_is_one_line_and_the_others_go_on(prefect_api_url, acme):
    result = relevo("layoff", "9999", "--registry", str(acme), "--dry-run", server=prefect_api_url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        result.stderr
        == "relevo: error: employee 9999 not offboarded: directory: employee 9999 is not in hr.json\n"
    )
    assert "Traceback" not in result.stdout and "StopIteration" not in result.stdout
    both = relevo("layoff", "1003, 9999", "--registry", str(acme), "--dry-run", server=prefect_api_url)
    assert both.returncode == 2 and "1003" in both.stdout and "plan" in both.stdout


def test_unknown_employee_run_fails_with_the_cause_as_its_message(prefect_api_url, acme):
    from relevo.offboarding import offboard_employee

    state = offboard_employee("9999", registry_path=str(acme), return_state=True)
    assert state.is_failed() and state.message == "directory: employee 9999 is not in hr.json"


def test_force_without_a_login_name_records_the_uid_instead_of_crashing(acme, monkeypatch):
    """In a container with no login name and no passwd entry, getpass.getuser() raises: `--force` without
    `--by` recorded who asked with it and ended in a traceback; it now records the uid, as `approve` does."""
    import getpass

    from typer.testing import CliRunner

    from relevo.cli.main import app

    def no_login() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_login)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["offboard", "1005", "--registry", str(acme), "--force", "--dry-run"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
