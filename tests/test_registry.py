"""Registry loading: every mistake gets one clear message naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from relevo.config.registry import load_registry
from relevo.model import ConfigurationError


def write(tmp_path: Path, acme: Path, mutate) -> Path:
    data = yaml.safe_load(acme.read_text("utf-8"))
    mutate(data)
    acme.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return acme


def test_example_registry_loads(acme):
    registry = load_registry(acme)
    assert registry.company.timezone == "Europe/Madrid"
    assert len(registry.presences) >= 6


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: d["company"].pop("timezone"), "company: 'timezone' is a required property"),
        (lambda d: d["company"].update(timezone="Mars/Olympus"), "'Mars/Olympus' is not an IANA time zone"),
        (lambda d: d["presences"][1].update(owner="someone"), "presences[1].owner"),
        (lambda d: d["presences"][1].update(id=d["presences"][0]["id"]), "duplicate id facebook-page"),
        (
            lambda d: d["presences"][0].update(connector="carrier-pigeon"),
            "unknown connector 'carrier-pigeon'",
        ),
        (lambda d: d.update(hr={"connector": "directory", "path": "hr.json", "successor_field": "x"}), None),
        (
            lambda d: d["company"]["break_glass_admin"].update(email="not-an-email"),
            "company.break_glass_admin.email",
        ),
        (lambda d: d.update(surprise=1), "Additional properties are not allowed ('surprise'"),
    ],
)
def test_invalid_registry_names_the_problem(tmp_path, acme, mutate, expected):
    path = write(tmp_path, acme, mutate)
    if expected is None:  # connector-specific keys are accepted; nothing to report
        load_registry(path)
        return
    with pytest.raises(ConfigurationError) as caught:
        registry = load_registry(path)
        for presence in registry.presences:
            registry.social(presence)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_broken_yaml_names_the_line(acme):
    acme.write_text("company: {name: x\npresences: [", "utf-8")
    with pytest.raises(ConfigurationError, match=r"not valid YAML at line \d+"):
        load_registry(acme)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="registry file not found"):
        load_registry(tmp_path / "nope.yaml")


def test_secret_reference_to_unset_variable_names_the_variable(monkeypatch):
    from relevo.config.secrets import resolve

    monkeypatch.delenv("RELEVO_TEST_UNSET", raising=False)
    with pytest.raises(ConfigurationError, match="environment variable RELEVO_TEST_UNSET is not set"):
        resolve({"env": "RELEVO_TEST_UNSET"}, "hr.api_key")
    monkeypatch.setenv("RELEVO_TEST_UNSET", "value-7788")
    assert resolve({"env": "RELEVO_TEST_UNSET"}, "hr.api_key") == "value-7788"


def test_a_time_zone_name_too_long_for_a_file_is_a_configuration_error(tmp_path, acme):
    """Found by the large-budget fuzz run: ZoneInfo raised OSError (file name too long), not a clear error."""
    from relevo.model import ConfigurationError

    path = write(tmp_path, acme, lambda data: data["company"].update(timezone="Europe/" + "x" * 300))
    with pytest.raises(ConfigurationError, match="not an IANA time zone"):
        load_registry(path)


PASTED = "pat-na1-plaintext-canary-0c4e"  # a credential pasted where its reference belongs


@pytest.mark.parametrize(
    "mutate,field",
    [
        (
            lambda d: d.update(hr={"connector": "bamboohr", "company_domain": "acme", "api_key": PASTED}),
            "hr.api_key",
        ),
        (lambda d: d.update(crm={"connector": "hubspot", "token": PASTED}), "crm.token"),
        (
            lambda d: d["presences"][0].update(
                connector="meta_page", settings={"page_id": "1", "business_id": "2", "token": PASTED}
            ),
            "presences[0].settings.token",
        ),
        (lambda d: d.update(storage={"database": {"env": "bad name"}}), "storage.database"),
    ],
)
def test_a_credential_must_be_a_secret_reference(tmp_path, acme, mutate, field):
    """A plaintext api_key/token fails the schema with the field named (it was an AttributeError traceback),
    and the message never quotes the value."""
    path = write(tmp_path, acme, mutate)
    with pytest.raises(ConfigurationError) as caught:
        load_registry(path)
    assert f"{path}: {field}" in str(caught.value)
    assert PASTED not in str(caught.value)


def test_resolve_refuses_a_plain_value_without_quoting_it():
    from relevo.config.secrets import resolve

    with pytest.raises(ConfigurationError, match="hr.api_key: must be a secret reference") as caught:
        resolve(PASTED, "hr.api_key")  # type: ignore[arg-type]
    assert PASTED not in str(caught.value)


def test_database_may_be_a_secret_reference_and_is_printed_masked(tmp_path, acme, monkeypatch):
    from relevo.storage.db import masked

    path = write(tmp_path, acme, lambda d: d.update(storage={"database": {"env": "RELEVO_TEST_DATABASE"}}))
    monkeypatch.delenv("RELEVO_TEST_DATABASE", raising=False)
    with pytest.raises(
        ConfigurationError, match="storage.database: environment variable RELEVO_TEST_DATABASE"
    ):
        load_registry(path)
    database = tmp_path / "elsewhere.db"
    monkeypatch.setenv("RELEVO_TEST_DATABASE", f"sqlite:///{database}")
    assert load_registry(path).database_url == f"sqlite:///{database}"
    assert (
        masked("postgresql+psycopg://relevo:s3cr3t-canary@db.internal:5432/relevo")
        == "postgresql+psycopg://relevo:***@db.internal:5432/relevo"
    )
    assert masked("postgresql://relevo:p@ss/w0rd@db/relevo").count("p@ss") == 0


def test_a_postgresql_url_without_its_driver_names_the_extra(tmp_path, acme, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    path = write(
        tmp_path, acme, lambda d: d.update(storage={"database": "postgresql://relevo:pw-canary@db/relevo"})
    )
    with pytest.raises(ConfigurationError) as caught:
        load_registry(path)
    assert "pip install 'relevo[postgres]'" in str(caught.value) and "pw-canary" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}: storage.database")
