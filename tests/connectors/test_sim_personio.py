"""The Personio connector over the loopback simulator (tests/sim/vendors.py Personio): real HTTP, the token's
lifetime on a shared clock, the report upload, and reconciliation through the registry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from relevo.config.registry import load_registry
from relevo.connectors.personio import RENEW_BEFORE, Personio
from relevo.reconcile import reconcile_once
from tests.sim import Simulator
from tests.sim.vendors import Personio as PersonioSim

CLIENT_ID, SECRET = "papi-sim-client", "papi-sim-secret-canary-91"


@pytest.fixture
def sim():  # type: ignore[no-untyped-def]
    vendor = PersonioSim()
    vendor.client_id, vendor.secret = CLIENT_ID, SECRET
    vendor.add("3003", "Marta", "Soler", "marta.soler@acme.example")
    vendor.add("5005", "Lena", "Vogel", "lena.vogel@acme.example", supervisor="3003")
    vendor.add("5006", "Jonas", "Weber", "jonas.weber@acme.example", supervisor="3003")
    with Simulator([vendor]) as server:
        yield server, vendor


def connector(server: Simulator, clock: list[float] | None = None) -> Personio:
    return Personio(
        CLIENT_ID,
        SECRET,
        default_language="de",
        base_url=server.url("personio") + "/",
        document_category=7,
        today=lambda: date(2026, 11, 27),
        sleep=lambda s: None,
        **({"clock": lambda: clock[0]} if clock is not None else {}),
    )


def test_a_resignation_is_read_reported_and_found_by_polling(sim) -> None:  # type: ignore[no-untyped-def]
    server, vendor = sim
    vendor.terminate("5005", "2026-12-18", "EMPLOYEE", updated_at="2026-11-27T08:00:00Z")
    hr = connector(server)

    employee = hr.employee("5005")
    assert employee["status"] == "terminating" and employee["termination"]["type"] == "voluntary"
    assert employee["manager"]["email"] == "marta.soler@acme.example"

    where = hr.write_note("5005", "relevo report", "2 roles removed", Path("/unused"))
    (document,) = vendor.documents
    assert (
        document["employee_id"] == "5005"
        and document["category_id"] == 7
        and b"2 roles removed" in document["content"]
    )
    assert "id 1" in where

    changed, cursor = hr.changed_since("2026-11-20T00:00:00+00:00")
    assert changed == ["5005"] and cursor == "2026-11-27T07:59:59Z"
    assert hr.changed_since(cursor)[0] == ["5005"]  # the overlap second: read again, stored once by reconcile
    assert hr.changed_since("2026-11-27T08:00:00Z") == ([], "2026-11-27T08:00:00Z")
    assert len(vendor.issued) == 1  # one token for all of it


def test_the_token_is_renewed_before_the_vendor_expires_it_and_after_a_revocation(
    sim: tuple[Simulator, PersonioSim],
) -> None:
    server, vendor = sim
    now = [1000.0]
    vendor.clock = lambda: now[0]
    vendor.lifetime = 3600
    hr = connector(server, now)
    hr.employee("5006")
    now[0] += 3600 - RENEW_BEFORE + 1  # the vendor would still accept it, relevo renews first
    hr.employee("5006")
    assert len(vendor.issued) == 2
    vendor.issued.clear()  # revoked (credentials rotated): one 401, a new token, the call repeated
    assert hr.employee("5006")["name"] == "Jonas Weber"
    assert len(vendor.issued) == 1


def test_wrong_credentials_are_one_clear_error(sim) -> None:  # type: ignore[no-untyped-def]
    from relevo.connectors.errors import AuthenticationError

    server, _ = sim
    hr = Personio(
        CLIENT_ID, "wrong", default_language="de", base_url=server.url("personio") + "/", sleep=lambda s: None
    )
    with pytest.raises(AuthenticationError, match="unauthorized_client"):
        hr.employee("5005")


def test_reconciliation_through_the_registry_stores_one_personio_event(
    sim: tuple[Simulator, PersonioSim], acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, vendor = sim
    vendor.terminate("5006", "2026-11-20", "FIRED", updated_at="2026-11-26T10:00:00Z")
    monkeypatch.setenv("PERSONIO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PERSONIO_CLIENT_SECRET", SECRET)
    acme.write_text(
        acme.read_text("utf-8").replace(
            "hr: {connector: directory, path: hr.json}",
            "hr: {connector: personio, client_id: {env: PERSONIO_CLIENT_ID},"
            " client_secret: {env: PERSONIO_CLIENT_SECRET},"
            f" document_category: 7, base_url: '{server.url('personio')}/'}}",
        ),
        "utf-8",
    )
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    first = reconcile_once(load_registry(acme), now=now)
    again = reconcile_once(load_registry(acme), now=now)

    assert first["stored"] == ["personio:5006:terminated:polled:2026-11-20"]
    assert first["cursor"] == "2026-11-26T09:59:59Z" and again["stored"] == []


def on_personio(acme: Path, server: Simulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PERSONIO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PERSONIO_CLIENT_SECRET", SECRET)
    acme.write_text(
        acme.read_text("utf-8").replace(
            "hr: {connector: directory, path: hr.json}",
            "hr: {connector: personio, client_id: {env: PERSONIO_CLIENT_ID},"
            " client_secret: {env: PERSONIO_CLIENT_SECRET},"
            f" document_category: 7, base_url: '{server.url('personio')}/'}}",
        ),
        "utf-8",
    )
    return acme


def test_a_run_for_someone_personio_shows_active_does_nothing(
    sim: tuple[Simulator, PersonioSim], acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a dataless notification about another change leads to: the run reads the employment, finds no
    termination, and stops with one line (flows/engine/gate.py), having touched nothing."""
    from typer.testing import CliRunner

    from relevo.cli.main import app

    server, vendor = sim
    result = CliRunner().invoke(
        app, ["offboard", "5006", "--registry", str(on_personio(acme, server, monkeypatch))]
    )

    assert result.exit_code == 2, result.output
    assert "has not left" in result.output and "Traceback" not in result.output
    assert vendor.documents == []


def test_an_offboarding_files_its_report_in_personio(
    sim: tuple[Simulator, PersonioSim], acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from relevo.cli.main import app

    server, vendor = sim
    vendor.terminate("5006", "2026-11-20", "FIRED", updated_at="2026-11-26T10:00:00Z")
    registry = on_personio(acme, server, monkeypatch)

    result = CliRunner().invoke(app, ["offboard", "5006", "--registry", str(registry)])
    again = CliRunner().invoke(app, ["offboard", "5006", "--registry", str(registry)])

    assert result.exit_code in (0, 3), result.output
    assert again.exit_code in (0, 3), again.output
    (document,) = vendor.documents  # filed once: the rerun finds it in the ledger
    assert document["employee_id"] == "5006" and b"5006" in document["content"]
